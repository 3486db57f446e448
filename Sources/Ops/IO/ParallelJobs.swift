import Foundation

/// Runs independent jobs (one output file each) on a fixed number of worker threads.
///
/// Jobs are started largest first so the last one to finish is small; the first error stops the
/// workers from taking new jobs and is rethrown. Results do not depend on the number of workers:
/// each job writes its own file, so `workers: 1` and `workers: N` produce the same bytes.
public enum ParallelJobs {
    /// The default worker count: one per core (bounded, since the work is I/O and memcpy).
    public static var defaultWorkers: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)) }

    public static func run(_ jobs: [(cost: Int, work: () throws -> Void)], workers: Int = defaultWorkers) throws {
        let order = jobs.indices.sorted { jobs[$0].cost > jobs[$1].cost }
        let lock = NSLock()
        var next = 0
        var firstError: Error?
        let n = max(1, min(workers, jobs.count))
        if n == 1 {
            for i in order { try jobs[i].work() }
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { _ in
            while true {
                lock.lock()
                if firstError != nil || next >= order.count { lock.unlock(); return }
                let i = order[next]
                next += 1
                lock.unlock()
                do { try jobs[i].work() } catch {
                    lock.lock()
                    if firstError == nil { firstError = error }
                    lock.unlock()
                    return
                }
            }
        }
        if let firstError { throw firstError }
    }

    /// `transform` of every element, computed on the workers, in the input's order. Every element
    /// is tried; the error of the first failing element (in input order) is rethrown, so which
    /// file an error names does not depend on the schedule.
    public static func map<T, R>(_ items: [T], workers: Int = defaultWorkers, _ transform: @escaping (T) throws -> R) throws -> [R] {
        var results = [Result<R, Error>?](repeating: nil, count: items.count)
        let lock = NSLock()
        try run(items.indices.map { i in
            (cost: items.count - i, work: {
                let r = Result { try transform(items[i]) }
                lock.lock()
                results[i] = r
                lock.unlock()
            })
        }, workers: workers)
        return try results.map { try $0!.get() }
    }
}
