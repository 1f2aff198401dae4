import LMDB
import TestSupport
import Testing

@Suite struct NestedTransactions {
    @Test func aNestedTransactionJoinsItsParentOrIsUndoneAlone() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment.open(path: dir + "/env")
            let db = try env.openDatabase("items")
            struct Undo: Error {}
            try env.write { txn in
                try txn.put(db, key: [1], value: [1])
                try txn.nested { try txn.put(db, key: [2], value: [2]) }
                #expect(throws: Undo.self) {
                    try txn.nested {
                        try txn.put(db, key: [3], value: [3])
                        try txn.delete(db, key: [1])
                        #expect(try txn.value(db, key: [3]) == [3])  // the child sees its own change
                        throw Undo()
                    }
                }
                // The undone child changed nothing; the parent and the joined child remain.
                #expect(try txn.value(db, key: [1]) == [1])
                #expect(try txn.value(db, key: [3]) == nil)
                try txn.put(db, key: [4], value: [4])
            }
            let committed = try env.read { txn in try [1, 2, 3, 4].map { try txn.value(db, key: [UInt8($0)]) } }
            #expect(committed == [[1], [2], nil, [4]])
        }
    }

    @Test func aNestedTransactionUndoneWhenItsParentRollsBack() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment.open(path: dir + "/env")
            let db = try env.openDatabase("items")
            struct Rollback: Error {}
            #expect(throws: Rollback.self) {
                try env.write { txn in
                    try txn.nested { try txn.put(db, key: [1], value: [1]) }
                    throw Rollback()
                }
            }
            #expect(try env.read { try $0.value(db, key: [1]) } == nil)
        }
    }
}
