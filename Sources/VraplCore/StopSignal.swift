#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The flag SIGINT/SIGTERM set. A C-compatible handler may only do async-signal-safe work, so it
/// stores the signal number in this word and nothing else; the loop polls it after every sleep.
/// Allocated and zeroed before any handler is installed (Swift globals initialize lazily).
nonisolated(unsafe) private let stopWord: UnsafeMutablePointer<sig_atomic_t> = {
    let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
    p.initialize(to: 0)
    return p
}()

/// SIGINT/SIGTERM handling for the collector and the guest (the one stop-signal handler): `install()` unblocks both and sets handlers (without SA_RESTART, so the
/// sleeping `clock_nanosleep` returns at once, and with SA_RESETHAND, so a second Ctrl-C kills).
public enum StopSignal {
    public static func install() {
        _ = stopWord.pointee
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { signal in stopWord.pointee = sig_atomic_t(signal) }
        action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
        #else
        action.__sigaction_u.__sa_handler = { signal in stopWord.pointee = sig_atomic_t(signal) }
        action.sa_flags = SA_RESETHAND
        #endif
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have exec'd us with these blocked (the mask is inherited): unblock them.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// The signal that asked to stop, or 0.
    @inline(__always)
    public static var received: Int32 { Int32(stopWord.pointee) }

    /// The flag itself, for a loop outside Swift that polls it (the batched guest's C tick loop).
    public static var flag: UnsafePointer<sig_atomic_t> { UnsafePointer(stopWord) }

    /// Asks the loop to stop as a signal would (tests, and a duration limit).
    public static func request(_ signal: Int32 = SIGTERM) { stopWord.pointee = sig_atomic_t(signal) }

    /// Clears the flag (tests).
    public static func reset() { stopWord.pointee = 0 }
}
