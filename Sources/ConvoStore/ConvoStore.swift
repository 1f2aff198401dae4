// The domain arrives with the conversation store.
