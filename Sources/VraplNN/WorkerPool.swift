import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fork-join pool of persistent threads for the engine's per-shard phases. `run(n) { i in … }` runs
/// iterations 0..<n, iteration 0 on the calling thread, and returns when all are done. Idle workers spin
/// briefly (a training step hands out phases tens of microseconds apart) and then sleep on a condition
/// variable, so an idle pool costs nothing. Measured here: libdispatch's concurrentPerform added 25–80 µs
/// per phase and, with sub-millisecond phases, often ran both shards on one thread.
final class WorkerPool: @unchecked Sendable {
    let size: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var job: ((Int) -> Void)?
    private var activeCount = 0
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var sleepers = 0
    private var threads: [pthread_t] = []
    /// Spins before a worker sleeps (each spin is one atomic load).
    private let spinLimit = 200_000

    init(size: Int) {
        self.size = max(1, size)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for index in 1..<self.size {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            if status == 0 { threads.append(thread) } else { box.release() }
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Number of threads actually available (the caller plus the workers that started).
    var available: Int { threads.count + 1 }

    func run(_ n: Int, _ body: (Int) -> Void) {
        let n = min(n, available)
        if n <= 1 { for i in 0..<max(n, 1) { body(i) }; return }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            activeCount = n
            // Every worker acknowledges every generation (inactive ones without running anything), so no
            // worker can lag into the next one.
            remaining.store(threads.count, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(&condition) }
            pthread_mutex_unlock(&mutex)
            escapable(0)
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 1_000_000 { sched_yield() }
            }
            job = nil
        }
    }

    private func workerLoop(index: Int) {
        // Generation 0 is the state at creation: a worker that starts late must still take part in
        // generation 1 (reading the current value here would skip it and deadlock the pool).
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && spins < spinLimit {
                spins += 1
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&condition, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            if index < activeCount, let job { job(index) }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerStart {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
