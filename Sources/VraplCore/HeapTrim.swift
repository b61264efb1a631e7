#if canImport(Glibc)
import Glibc

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Gives the heap that start-up freed back to the kernel (glibc `malloc_trim(0)`), so a long-running
/// daemon does not keep it resident. A no-op where the C library has no such call.
public enum HeapTrim {
    public static func releaseFreedMemory() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}
