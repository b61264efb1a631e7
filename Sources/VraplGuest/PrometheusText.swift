import Foundation
import VraplCore

/// Renders a snapshot in the Prometheus text exposition format (version 0.0.4). Kepler's names where
/// the meaning matches (`kepler_node_cpu_watts`, `kepler_node_cpu_joules_total`, `zone="package"`),
/// `vrapl_*` for the rest.
public enum PrometheusText {
    public static let contentType = PrometheusExposition.contentType

    public static func render(_ s: GuestSnapshot) -> String {
        var out = PrometheusExposition()
        func family(_ name: String, _ type: String, _ help: String) { out.family(name, type, help) }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) { out.sample(name, labels, value) }
        let m = s.model
        let source = m.powerSource.shortLabel
        // Kepler's constant node_name label on every kepler_* series, and `path` on the node CPU families.
        let node: [(String, String)] = s.node.map { [("node_name", $0.nodeName)] } ?? []
        let zone = node + [("zone", "package"), ("path", "vrapl-guest")]
        let vraplZone = [("zone", "package")]

        if let node = s.node, !node.processors.isEmpty {
            family("kepler_node_cpu_info", "gauge", "The node's logical CPUs as /proc/cpuinfo lists them (Kepler's node selector).")
            for p in node.processors {
                sample("kepler_node_cpu_info", [("node_name", node.nodeName), ("processor", p.processor), ("vendor_id", p.vendorID),
                                                ("model_name", p.modelName), ("physical_id", p.physicalID), ("core_id", p.coreID)], 1)
            }
        }
        if let e = s.estimate {
            let meaning = m.hostView == "guest-share" ? "this VM's share of its host's CPU package" : "the CPU package of the whole host (a whole-host model)"
            family("kepler_node_cpu_watts", "gauge", "Power of \(meaning), estimated by vrapl from guest-visible signals (power_source=\(source)).")
            sample("kepler_node_cpu_watts", zone, e.watts)
            family("kepler_node_cpu_joules_total", "counter", "Energy of \(meaning), estimated by vrapl, integrated with the real time between samples.")
            sample("kepler_node_cpu_joules_total", zone, e.energyJoules)
            if let i = e.interval {
                family("vrapl_power_interval_low_watts", "gauge", "Lower bound of the calibrated central prediction interval of kepler_node_cpu_watts (nominal coverage in vrapl_model_info).")
                sample("vrapl_power_interval_low_watts", vraplZone, i.low)
                family("vrapl_power_interval_high_watts", "gauge", "Upper bound of the calibrated central prediction interval of kepler_node_cpu_watts.")
                sample("vrapl_power_interval_high_watts", vraplZone, i.high)
            }
            if let b = e.energyBoundsJoules {
                family("vrapl_energy_interval_low_joules_total", "counter", "Lower bound of kepler_node_cpu_joules_total: the power interval's lower bound integrated (errors assumed fully correlated; increase() over a window bounds that window's energy).")
                sample("vrapl_energy_interval_low_joules_total", vraplZone, b.low)
                family("vrapl_energy_interval_high_joules_total", "counter", "Upper bound of kepler_node_cpu_joules_total: the power interval's upper bound integrated.")
                sample("vrapl_energy_interval_high_joules_total", vraplZone, b.high)
            }
            family("kepler_node_cpu_usage_ratio", "gauge", "Busy share of this node's CPU time over the last second (0..1).")
            sample("kepler_node_cpu_usage_ratio", node, e.busyPercent / 100)
            // Guest-shaped models: the rule's idle part (P_idle·k/T) and the rest. Whole-host models
            // have no idle power to go by: Kepler's own split, active = power × usage ratio.
            let shaped = e.idleWatts != nil
            let active = e.activeWatts ?? e.watts * e.busyPercent / 100
            let idle = e.idleWatts ?? (e.watts - active)
            let meaningActive = shaped ? "Active part of this VM's share: its busy share of the host's power above idle."
                : "Active part of the power (a whole-host model: Kepler's split, power × CPU usage ratio)."
            let meaningIdle = shaped ? "Idle part of this VM's share: the host's idle power times its vCPUs over the host's threads (0 under active-only)."
                : "Idle part of the power (a whole-host model: power × (1 − CPU usage ratio))."
            family("kepler_node_cpu_active_watts", "gauge", meaningActive)
            sample("kepler_node_cpu_active_watts", zone, active)
            family("kepler_node_cpu_idle_watts", "gauge", meaningIdle)
            sample("kepler_node_cpu_idle_watts", zone, idle)
            family("kepler_node_cpu_active_joules_total", "counter", "Energy of the active part.")
            sample("kepler_node_cpu_active_joules_total", zone, e.activeEnergyJoules ?? e.keplerActiveEnergyJoules)
            family("kepler_node_cpu_idle_joules_total", "counter", "Energy of the idle part.")
            sample("kepler_node_cpu_idle_joules_total", zone, shaped ? e.idleEnergyJoules : max(0, e.energyJoules - e.keplerActiveEnergyJoules))
            if shaped {
                family("vrapl_guest_vcpus", "gauge", "Online vCPUs of this guest (k), as the model's share uses them.")
                sample("vrapl_guest_vcpus", [], Double(e.vcpus))
            }
            family("vrapl_busy_cpu_percent", "gauge", "Busy CPU time of this node over the last second, percent of all CPUs.")
            sample("vrapl_busy_cpu_percent", [], e.busyPercent)
            family("vrapl_steal_cpu_percent", "gauge", "Steal time of this VM over the last second, percent of all its CPU time: the host is oversubscribed and the estimate misses that time.")
            sample("vrapl_steal_cpu_percent", [], e.stealPercent)
            if let trust = e.trust {
                family("vrapl_trust_score", "gauge", "In-distribution score of the newest input window against the model's training statistics (1 = like training data, below 0.5 = out of distribution).")
                sample("vrapl_trust_score", [], trust)
                family("vrapl_out_of_distribution", "gauge", "1 if the newest window is out of the training distribution.")
                sample("vrapl_out_of_distribution", [], e.isOutOfDistribution ? 1 : 0)
            }
            family("vrapl_out_of_distribution_windows_total", "counter", "Windows flagged out of the training distribution.")
            sample("vrapl_out_of_distribution_windows_total", [], Double(e.outOfDistributionCount))
            family("vrapl_predictions_total", "counter", "Model predictions made.")
            sample("vrapl_predictions_total", [], Double(e.predictionCount))
            family("vrapl_nonfinite_predictions_total", "counter", "Predictions that came out NaN or infinite and were replaced by the last finite one.")
            sample("vrapl_nonfinite_predictions_total", [], Double(e.nonFinitePredictionCount))
        }
        if !s.processes.isEmpty {
            let labels: (ProcessEnergy) -> [(String, String)] = { p in
                node + [("pid", p.pid.map(String.init) ?? "other"), ("comm", p.comm), ("exe", ""), ("type", p.pid == nil ? "other" : "regular"),
                        ("state", p.state), ("container_id", ""), ("vm_id", ""), ("zone", "package")]
            }
            family("kepler_process_cpu_watts", "gauge", "Active power split by each process's share of CPU time over the export interval (top N processes, the rest as pid=\"other\").")
            for p in s.processes { sample("kepler_process_cpu_watts", labels(p), p.watts) }
            family("kepler_process_cpu_joules_total", "counter", "Energy split by CPU time (a process's counter grows while it is in the top N; other's never goes down).")
            for p in s.processes { sample("kepler_process_cpu_joules_total", labels(p), p.joules) }
        }
        if let unattributed = s.kubeUnattributedJoules {
            let c: (KubeEnergy) -> [(String, String)] = { k in
                node + [("container_id", k.containerID ?? ""), ("container_name", String((k.containerID ?? "").prefix(12))),
                        ("runtime", k.runtime), ("state", "running"), ("zone", "package"), ("pod_id", k.podUID)]
            }
            let p: (KubeEnergy) -> [(String, String)] = { k in
                node + [("pod_id", k.podUID), ("pod_name", k.podName), ("pod_namespace", k.podNamespace), ("state", "running"), ("zone", "package")]
            }
            family("kepler_container_cpu_watts", "gauge", "Active power split by each container's share of the node's CPU time (cgroup cpu.stat) over the export interval.")
            for k in s.containers { sample("kepler_container_cpu_watts", c(k), k.watts) }
            family("kepler_container_cpu_joules_total", "counter", "Active energy split by container CPU time.")
            for k in s.containers { sample("kepler_container_cpu_joules_total", c(k), k.joules) }
            family("kepler_pod_cpu_watts", "gauge", "Active power of each pod: the sum of its containers'.")
            for k in s.pods { sample("kepler_pod_cpu_watts", p(k), k.watts) }
            family("kepler_pod_cpu_joules_total", "counter", "Active energy of each pod: the sum of its containers'.")
            for k in s.pods { sample("kepler_pod_cpu_joules_total", p(k), k.joules) }
            family("vrapl_kube_unattributed_joules_total", "counter", "Active energy no container was charged with (system services, kernel threads, containers in their first or last interval).")
            sample("vrapl_kube_unattributed_joules_total", node, unattributed)
        }
        family("vrapl_samples_total", "counter", "Samples of /proc/stat read.")
        sample("vrapl_samples_total", [], Double(s.samples))
        family("vrapl_late_ticks_total", "counter", "Sampling ticks that came late (their interval was stretched; no energy is lost).")
        sample("vrapl_late_ticks_total", [], Double(s.lateTicks))
        family("vrapl_skipped_reads_total", "counter", "Ticks skipped because /proc/stat could not be read twice in a row (transient errors; a persistent one stops the guest).")
        sample("vrapl_skipped_reads_total", [], Double(s.skippedReads))
        if let c = s.calibration {
            family("vrapl_calibrated_watts", "gauge", "Package power after host-assisted calibration (offset + scale x raw), zone package.")
            sample("vrapl_calibrated_watts", vraplZone, c.calibratedWatts)
            family("vrapl_calibrated_joules_total", "counter", "Package energy after host-assisted calibration.")
            sample("vrapl_calibrated_joules_total", vraplZone, c.calibratedEnergyJoules)
            family("vrapl_calibration_offset_watts", "gauge", "Offset of the host-assisted calibration.")
            sample("vrapl_calibration_offset_watts", [], c.offsetWatts)
            family("vrapl_calibration_scale", "gauge", "Scale of the host-assisted calibration.")
            sample("vrapl_calibration_scale", [], c.scale)
            family("vrapl_calibration_active", "gauge", "1 once enough host intervals were seen to calibrate.")
            sample("vrapl_calibration_active", [], c.active ? 1 : 0)
            family("vrapl_host_skipped_reads_total", "counter", "Host energy reads skipped: the file was empty or half written (Scaphandre writes it by truncate and write), or went backwards without a range.")
            sample("vrapl_host_skipped_reads_total", [], Double(c.skippedHostReads))
            if let host = c.hostEnergyJoules {
                family("vrapl_host_joules_total", "counter", "This VM's energy as published by the host since the guest started.")
                sample("vrapl_host_joules_total", [], host)
            }
        }
        if !s.attributedJoules.isEmpty {
            // The name and labels of `vrapl attribute`'s metrics.prom, so one query reads both.
            family("vrapl_workload_joules_total", "counter", "Energy attributed to a workload (cgroups) in proportion to its CPU usage, by component.")
            for (workload, joules) in s.attributedJoules { sample("vrapl_workload_joules_total", [("workload", workload), ("component", "cpu")], joules) }
        }
        family("vrapl_model_info", "gauge", "The model in use: name, SHA-256 prefix, power source of its training data (sim or rapl), and host_view: guest-share (this VM's share of a host of host_threads) or whole-host (the model assumes this guest is its whole host).")
        var info = [("name", m.name), ("hash", m.hash), ("power_source", source),
                    ("power_source_detail", m.powerSource.description), ("features", m.featureSet),
                    ("architecture", m.architecture), ("host_view", m.hostView)]
        if let t = m.hostThreads { info.append(("host_threads", String(t))) }
        info.append(("interval", m.intervalNominal.map { String(format: "%g", $0 * 100) + "%" } ?? "n/a"))
        sample("vrapl_model_info", info, 1)
        family("vrapl_build_info", "gauge", "vrapl build information.")
        sample("vrapl_build_info", [("version", VraplVersion.string), ("component", "vrapl-guest")], 1)
        return out.text
    }
}
