print("convostore")
