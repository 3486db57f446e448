/// Pickle opcodes (protocols 0-5), by byte value.
enum PickleOpcode {
    static let mark: UInt8 = 0x28           // (
    static let stop: UInt8 = 0x2E           // .
    static let pop: UInt8 = 0x30            // 0
    static let popMark: UInt8 = 0x31        // 1
    static let dup: UInt8 = 0x32            // 2
    static let float: UInt8 = 0x46          // F
    static let int: UInt8 = 0x49            // I
    static let binInt: UInt8 = 0x4A         // J
    static let binInt1: UInt8 = 0x4B        // K
    static let long: UInt8 = 0x4C           // L
    static let binInt2: UInt8 = 0x4D        // M
    static let none: UInt8 = 0x4E           // N
    static let persID: UInt8 = 0x50         // P
    static let binPersID: UInt8 = 0x51      // Q
    static let reduce: UInt8 = 0x52         // R
    static let string: UInt8 = 0x53         // S
    static let binString: UInt8 = 0x54      // T
    static let shortBinString: UInt8 = 0x55 // U
    static let unicode: UInt8 = 0x56        // V
    static let binUnicode: UInt8 = 0x58     // X
    static let append: UInt8 = 0x61         // a
    static let build: UInt8 = 0x62          // b
    static let global: UInt8 = 0x63         // c
    static let dict: UInt8 = 0x64           // d
    static let emptyDict: UInt8 = 0x7D      // }
    static let appends: UInt8 = 0x65        // e
    static let get: UInt8 = 0x67            // g
    static let binGet: UInt8 = 0x68         // h
    static let inst: UInt8 = 0x69           // i
    static let longBinGet: UInt8 = 0x6A     // j
    static let list: UInt8 = 0x6C           // l
    static let emptyList: UInt8 = 0x5D      // ]
    static let obj: UInt8 = 0x6F            // o
    static let put: UInt8 = 0x70            // p
    static let binPut: UInt8 = 0x71         // q
    static let longBinPut: UInt8 = 0x72     // r
    static let setItem: UInt8 = 0x73        // s
    static let tuple: UInt8 = 0x74          // t
    static let emptyTuple: UInt8 = 0x29     // )
    static let setItems: UInt8 = 0x75       // u
    static let binFloat: UInt8 = 0x47       // G
    // protocol 2
    static let proto: UInt8 = 0x80
    static let newObj: UInt8 = 0x81
    static let ext1: UInt8 = 0x82
    static let ext2: UInt8 = 0x83
    static let ext4: UInt8 = 0x84
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newTrue: UInt8 = 0x88
    static let newFalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8A
    static let long4: UInt8 = 0x8B
    // protocol 3
    static let binBytes: UInt8 = 0x42       // B
    static let shortBinBytes: UInt8 = 0x43  // C
    // protocol 4
    static let shortBinUnicode: UInt8 = 0x8C
    static let binUnicode8: UInt8 = 0x8D
    static let binBytes8: UInt8 = 0x8E
    static let emptySet: UInt8 = 0x8F
    static let addItems: UInt8 = 0x90
    static let frozenSet: UInt8 = 0x91
    static let newObjEx: UInt8 = 0x92
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95
    // protocol 5
    static let byteArray8: UInt8 = 0x96
    static let nextBuffer: UInt8 = 0x97
    static let readOnlyBuffer: UInt8 = 0x98
}
