#if canImport(Glibc)
import Glibc
#endif
import VraplCore

/// One reading of one cgroup's accounting files. Files that do not exist (a controller not enabled
/// for this cgroup) are nil and noted; garbage in a file that exists is an error, not a nil.
public struct CGroupSample: Sendable, Equatable {
    /// Path relative to the cgroupfs root, without leading `/` (`""` is the root).
    public var path: String
    /// Inode of the cgroup directory: a cgroup removed and created again under the same name gets a
    /// new one, which is how a counter reset is told from a plain decrease.
    public var inode: UInt64
    /// `cpu.stat` `usage_usec` (present in every cgroup v2, controller enabled or not).
    public var usageUsec: UInt64?
    /// `memory.max`.
    public var memoryMax: CGroupLimit?
    /// `memory.current`.
    public var memoryCurrent: UInt64?
    /// `io.stat`, summed over devices.
    public var io: CGroupIOStat?
    /// Files that were missing, as their full paths.
    public var missingFiles: [String] = []

    public init(path: String, inode: UInt64, usageUsec: UInt64? = nil, memoryMax: CGroupLimit? = nil,
                memoryCurrent: UInt64? = nil, io: CGroupIOStat? = nil, missingFiles: [String] = []) {
        self.path = path; self.inode = inode; self.usageUsec = usageUsec; self.memoryMax = memoryMax
        self.memoryCurrent = memoryCurrent; self.io = io; self.missingFiles = missingFiles
    }
}

/// Reads cgroup v2 accounting files under a root directory (`--cgroupfs`): the real
/// `/sys/fs/cgroup` (or `/sys/fs/cgroup/unified` on hybrid hosts), or a fixture tree in tests.
public struct CGroupReader: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// Full path of a cgroup given relative to the root.
    public func fullPath(_ cgroup: String) -> String {
        let rel = cgroup.split(separator: "/").joined(separator: "/")
        return rel.isEmpty ? root : root + "/" + rel
    }

    /// Normalised relative form (`/a//b/` → `a/b`).
    public static func normalise(_ cgroup: String) -> String { cgroup.split(separator: "/").joined(separator: "/") }

    /// Whether the cgroup directory exists now.
    public func exists(_ cgroup: String) -> Bool {
        TextFile.isDirectory(fullPath(cgroup))
    }

    /// Reads `cpu.stat`, `memory.max`, `memory.current` and `io.stat` of one cgroup.
    /// Throws `.cgroupMissing` when the directory is gone (also when it disappears while being read),
    /// `.malformed` for garbage; missing files are recorded in `missingFiles`.
    public func sample(_ cgroup: String) throws -> CGroupSample {
        let rel = Self.normalise(cgroup)
        let dir = fullPath(rel)
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CGroupReadError.cgroupMissing(path: dir)
        }
        var sample = CGroupSample(path: rel, inode: UInt64(st.st_ino))
        if let text = try readOptional(dir, "cpu.stat", into: &sample) {
            sample.usageUsec = try CGroupParse.cpuUsageUsec(text, path: dir + "/cpu.stat")
        }
        if let text = try readOptional(dir, "memory.max", into: &sample) {
            sample.memoryMax = try CGroupParse.limit(text, path: dir + "/memory.max")
        }
        if let text = try readOptional(dir, "memory.current", into: &sample) {
            sample.memoryCurrent = try CGroupParse.integer(text, path: dir + "/memory.current")
        }
        if let text = try readOptional(dir, "io.stat", into: &sample) {
            sample.io = try CGroupParse.ioStat(text, path: dir + "/io.stat")
        }
        return sample
    }

    /// Only `cpu.stat` `usage_usec` and the inode (the parent estimate needs nothing else); nil when
    /// the cgroup is gone or the file is missing or unreadable.
    public func usage(_ cgroup: String) -> (inode: UInt64, usageUsec: UInt64)? {
        let dir = fullPath(cgroup)
        var st = stat()
        guard stat(dir, &st) == 0, case .success(let text) = TextFile.readSmall(dir + "/cpu.stat"),
              let usage = try? CGroupParse.cpuUsageUsec(text, path: dir + "/cpu.stat") else { return nil }
        return (UInt64(st.st_ino), usage)
    }

    /// Immediate child cgroups of `parent` (relative paths), sorted, optionally filtered by a shell
    /// glob on the child's name (`*.slice`).
    public func children(of parent: String, matching pattern: String? = nil) throws -> [String] {
        let dir = fullPath(parent)
        guard exists(parent) else { throw CGroupReadError.cgroupMissing(path: dir) }
        let names: [String]
        do {
            names = try TextFile.directoryEntries(dir)
        } catch let error as VraplError {
            throw CGroupReadError.unreadable(path: dir, reason: error.message)
        }
        let prefix = Self.normalise(parent)
        var result: [String] = []
        for name in names.sorted() {
            guard TextFile.isDirectory(dir + "/" + name) else { continue }
            if let pattern, fnmatch(pattern, name, 0) != 0 { continue }
            result.append(prefix.isEmpty ? name : prefix + "/" + name)
        }
        return result
    }

    /// Reads `dir/name`; nil (and noted) when the file does not exist while the directory does.
    private func readOptional(_ dir: String, _ name: String, into sample: inout CGroupSample) throws -> String? {
        let path = dir + "/" + name
        switch TextFile.readSmall(path) {
        case .success(let text):
            return text
        case .failure(let failure):
            let code = failure.code
            if code == ENOENT || code == ENODEV {
                // A file vanishing with its directory is a vanished cgroup, not a missing file.
                if !exists(sample.path) { throw CGroupReadError.cgroupMissing(path: dir) }
                if code == ENODEV { throw CGroupReadError.cgroupMissing(path: dir) }
                sample.missingFiles.append(path)
                return nil
            }
            throw CGroupReadError.unreadable(path: path, reason: failure.reason)
        }
    }
}

/// Errno of a failed read.
