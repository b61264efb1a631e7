import Glibc

/// Directories that only this user can change: where vrapl keeps state and temporary files.
///
/// A path is *safe* when no component of its resolved form can be changed by another user: each
/// is owned by root or by us and is not writable by group or others, except sticky directories
/// such as `/tmp` (others may add names there but not rename or remove ours). A root run that
/// writes into a directory someone else owns can be made to overwrite any file (the campaign state
/// file attack of the reliability probe), so writers of state refuse such paths.
public enum PrivateDirectory {
    /// The per-user runtime directory for vrapl's state: `$XDG_RUNTIME_DIR/vrapl` when that variable
    /// names a directory, `/run/vrapl` as root, otherwise `$XDG_STATE_HOME/vrapl` or
    /// `$HOME/.local/state/vrapl`: never a fixed name in a shared directory such as /tmp, which
    /// another user could create first.
    public static func runtimeDirectory() -> String {
        func directory(_ variable: String) -> String? {
            guard let value = getenv(variable).map({ String(cString: $0) }), value.hasPrefix("/"), TextFile.isDirectory(value) else { return nil }
            return value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let xdg = directory("XDG_RUNTIME_DIR") { return xdg + "/vrapl" }
        if geteuid() == 0 && TextFile.isDirectory("/run") { return "/run/vrapl" }
        if let state = directory("XDG_STATE_HOME") { return state + "/vrapl" }
        if let home = directory("HOME") { return home + "/.local/state/vrapl" }
        return "/run/user/\(geteuid())/vrapl"  // systemd's per-user runtime directory; `ensure` checks it
    }

    /// Makes `path` exist as a directory that only this user controls: missing components are
    /// created mode 0700; every existing one must pass `checkComponent`.
    /// - Throws: a `VraplError` naming the component, its owner and why it is refused.
    public static func ensure(_ path: String) throws {
        guard path.hasPrefix("/") else { return try ensure(currentDirectory() + "/" + path) }
        var prefix = ""
        for component in path.split(separator: "/") where component != "." {
            prefix += "/" + component
            var info = stat()
            if lstat(prefix, &info) != 0 {
                guard errno == ENOENT else { throw VraplError("cannot use \(prefix): \(String(cString: strerror(errno)))") }
                guard mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                    throw VraplError("cannot create directory \(prefix): \(String(cString: strerror(errno)))")
                }
            }
        }
        try check(path)
    }

    /// Refuses `path` (which must exist) unless every component of its resolved form is safe and
    /// the last is a directory owned by this user or root.
    public static func check(_ path: String) throws {
        guard let resolved = realpath(path, nil) else {
            throw VraplError("cannot use \(path): \(String(cString: strerror(errno)))")
        }
        let real = String(cString: resolved)
        free(resolved)
        var prefix = ""
        try checkComponent("/")
        for component in real.split(separator: "/") {
            prefix += "/" + component
            try checkComponent(prefix, named: path)
        }
        guard TextFile.isDirectory(real) else { throw VraplError("cannot use \(path): not a directory") }
    }

    /// One component: owned by root or us, and not writable by group or others unless sticky.
    static func checkComponent(_ component: String, named path: String? = nil) throws {
        var info = stat()
        guard stat(component, &info) == 0 else {
            throw VraplError("cannot use \(component): \(String(cString: strerror(errno)))")
        }
        let via = path.map { $0 == component ? "" : " (on the way to \($0))" } ?? ""
        if info.st_uid != 0 && info.st_uid != geteuid() {
            throw VraplError("refusing \(component)\(via): owned by uid \(info.st_uid), not by this user (uid \(geteuid())) or root")
        }
        let sticky = (info.st_mode & S_ISVTX) != 0
        if (info.st_mode & 0o022) != 0 && !sticky {
            throw VraplError("refusing \(component)\(via): writable by other users (mode \(String(info.st_mode & 0o7777, radix: 8)))")
        }
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
