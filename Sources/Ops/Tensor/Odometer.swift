/// Row-major walk over the indices of `shape`, keeping the element offset that `strides` give
/// the current index (the outer loop of every strided copy).
struct Odometer {
    let shape: [Int]
    let strides: [Int]
    private var index: [Int]
    /// Element offset of the current index.
    private(set) var offset = 0

    init(shape: [Int], strides: [Int]) {
        self.shape = shape
        self.strides = strides
        index = [Int](repeating: 0, count: shape.count)
    }

    /// Moves to the next index; false after the last one.
    mutating func advance() -> Bool {
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            offset += strides[d]
            if index[d] < shape[d] { return true }
            offset -= strides[d] * shape[d]
            index[d] = 0
            d -= 1
        }
        return false
    }
}
