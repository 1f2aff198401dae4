import Foundation

/// The report's charts, as hand-written SVG (no plotting dependency for four simple charts):
/// - `commit-latency.svg` and `send-check-latency.svg`: HdrHistogram percentile distributions of the
///   live phase (every trial), one line per engine, the x axis logarithmic in 1 / (1 - percentile) as
///   HdrHistogram's plots are, the y axis logarithmic;
/// - `ratios.svg`: ConvoStore's ratios over each engine (medians) with their min-max over the trials;
/// - `events-per-s.svg`: live events/s against users (median and min-max), for `make bench-scale`.
/// With several user counts the latency charts are per count (`commit-latency-<users>.svg`).
enum Charts {
    static let colors: [EngineName: String] = [
        .convostore: "#1f77b4", .sqlite: "#d62728", .rawLMDB: "#2ca02c", .rocksDB: "#ff7f0e", .convostoreNoCard: "#9467bd",
    ]

    /// Every chart of a report: file name and SVG text.
    static func all(_ report: Report) -> [(String, String)] {
        var charts: [(String, String)] = []
        let several = report.runs.count > 1
        for run in report.runs {
            let suffix = several ? "-\(run.users)" : ""
            let users = Format.count(run.users)
            charts.append(("commit-latency\(suffix).svg", Self.percentiles(
                run, title: "Live commit latency (\(report.liveDurable ? "durable" : "UNSYNCED"), \(Format.count(Runner.batchSize)) events), \(users) users, every trial",
                pick: \.commit)))
            charts.append(("send-check-latency\(suffix).svg", Self.percentiles(
                run, title: "Send check latency during the live phase, \(users) users, every trial", pick: \.sendCheckDuringLoad)))
        }
        if report.runs[0].ratios.count > 0 { charts.append(("ratios.svg", Self.ratios(report.runs[0], trials: report.trialCount))) }
        charts.append(("events-per-s.svg", Self.eventsPerUsers(report)))
        return charts
    }

    static func caption(_ file: String) -> String {
        if file.hasPrefix("commit-latency") { return "live commit latency percentiles" }
        if file.hasPrefix("send-check-latency") { return "send check latency percentiles during the live phase" }
        if file.hasPrefix("ratios") { return "ConvoStore's ratios over the other engines" }
        return "live events/s against users"
    }

    // MARK: Percentile distributions

    private static func percentiles(_ run: Report.Run, title: String, pick: (Report.LatencyDistributions) -> [[Double]]) -> String {
        var plot = SVGPlot(title: title)
        let lines = ReportWriter.engines(run).compactMap { engine -> (EngineName, [[Double]])? in
            guard let points = run.latencyDistributions[engine.rawValue].map(pick), !points.isEmpty else { return nil }
            return (engine, points)
        }
        // x: log10(1 / (1 - p)): 0 at the median's left (p = 0), 1 at 90%, 2 at 99%, ... up to 99.9999%.
        func x(_ percentile: Double) -> Double { percentile >= 100 ? .infinity : Foundation.log10(100 / (100 - percentile)) }
        let finite = lines.flatMap { $0.1.map { x($0[0]) } }.filter(\.isFinite)
        let xMax = min(6, max(2, (finite.max() ?? 2).rounded(.up)))
        let values = lines.flatMap { $0.1.map { $0[1] } }.filter { $0 > 0 }
        let yLow = Foundation.log10(values.min() ?? 1).rounded(.down)
        let yHigh = max(yLow + 1, Foundation.log10(values.max() ?? 10).rounded(.up))
        plot.xRange = (0, xMax)
        plot.yRange = (yLow, yHigh)
        plot.xLabel = "percentile"
        plot.yLabel = "latency"
        for decade in 0...Int(xMax) {
            // 0%, 90%, 99%, 99.9%, ...: 1 - 10^-decade.
            let label = decade == 0 ? "0%" : decade == 1 ? "90%" : "99" + (decade > 2 ? "." + String(repeating: "9", count: decade - 2) : "") + "%"
            plot.xTick(Double(decade), label)
        }
        for decade in Int(yLow)...Int(yHigh) { plot.yTick(Double(decade), Self.powerOfTen(micros: decade)) }
        for (engine, points) in lines {
            let path = points.map { point -> (Double, Double) in
                let px = x(point[0])
                return (px.isFinite ? min(px, xMax) : xMax, Foundation.log10(max(point[1], Foundation.pow(10, yLow))))
            }
            plot.line(path, color: Self.colors[engine] ?? "black", label: engine.rawValue)
        }
        return plot.svg()
    }

    /// 10^exponent microseconds as a tick label: 1 us, 10 us, 100 us, 1 ms, ... 10 s.
    private static func powerOfTen(micros exponent: Int) -> String {
        let units = ["us", "ms", "s"]
        let unit = min(max(exponent, 0) / 3, units.count - 1)
        let value = Foundation.pow(10, Double(exponent - 3 * unit))
        return (value >= 1 ? Format.count(Int(value)) : Format.fixed(value, 1)) + " " + units[unit]
    }

    // MARK: Ratios

    private static func ratios(_ run: Report.Run, trials: Int) -> String {
        // Every bar reads the same way, above 1x where ConvoStore does better: throughputs are
        // ConvoStore's over the engine's, bytes written per event the engine's over ConvoStore's.
        let figures: [(String, String, inverted: Bool)] = [
            ("events_per_s", "live events/s", false), ("overdue_scan_entries_per_s", "overdue scan entries/s", false),
            ("point_reads_per_s", "point reads/s", false), ("live_write_bytes_per_event", "bytes written/event", true),
        ]
        func shown(_ value: Double, _ inverted: Bool) -> Double { inverted ? 1 / value : value }
        let others = ReportWriter.engines(run).filter { run.ratios["convostore_over_" + $0.rawValue] != nil }
        var all: [Double] = [1]
        for engine in others {
            let ratio = run.ratios["convostore_over_" + engine.rawValue]!
            for (figure, _, inverted) in figures { all += ([ratio.value(figure)] + (ratio.trialRange[figure] ?? [])).map { shown($0, inverted) } }
        }
        let low = Foundation.log2(all.filter { $0 > 0 }.min()!).rounded(.down)
        let high = Foundation.log2(all.max()!).rounded(.up)
        var plot = SVGPlot(title: "ConvoStore over each engine, medians (above 1x: ConvoStore better)"
            + (trials > 1 ? "; whiskers: \(trials) trials' min-max" : ""))
        plot.xRange = (0, Double(figures.count))
        plot.yRange = (min(low, -1), max(high, 1))
        plot.yLabel = "ratio"
        for exponent in Int(plot.yRange.1 - plot.yRange.0 < 1 ? 0 : plot.yRange.0)...Int(plot.yRange.1) {
            let value = Foundation.pow(2, Double(exponent))
            plot.yTick(Double(exponent), value >= 1 ? Format.fixed(value, 0) + "x" : Format.fixed(value, value >= 0.25 ? 2 : 3) + "x")
        }
        plot.horizontal(0, color: "#444", dashed: false)
        let width = 0.8 / Double(max(others.count, 1))
        for (group, (figure, label, inverted)) in figures.enumerated() {
            plot.xLabelAt(Double(group) + 0.5, label, second: inverted ? "engine / convostore" : "convostore / engine")
            for (index, engine) in others.enumerated() {
                let ratio = run.ratios["convostore_over_" + engine.rawValue]!
                let value = shown(ratio.value(figure), inverted)
                let left = Double(group) + 0.1 + width * Double(index)
                plot.bar(x: left, width: width * 0.9, from: 0, to: Foundation.log2(value), color: Self.colors[engine] ?? "gray",
                         label: group == 0 ? "vs " + engine.rawValue : nil, text: Format.ratio(value))
                if let range = ratio.trialRange[figure], trials > 1 {
                    let ends = range.map { shown($0, inverted) }
                    plot.whisker(x: left + width * 0.45, from: Foundation.log2(ends[0]), to: Foundation.log2(ends[1]))
                }
            }
        }
        return plot.svg()
    }

    // MARK: events/s against users

    private static func eventsPerUsers(_ report: Report) -> String {
        var plot = SVGPlot(title: "Live events/s against users (\(report.liveDurable ? "durable" : "UNSYNCED") commits of \(Runner.batchSize) events)"
            + (report.trialCount > 1 ? ", median and min-max" : ""))
        let users = report.runs.map(\.users)
        let values = report.runs.flatMap { run in run.range.values.flatMap { [$0.min.eventsPerS, $0.max.eventsPerS] } }.filter { $0 > 0 }
        let low = Foundation.log10(values.min() ?? 1).rounded(.down)
        let high = max(low + 1, Foundation.log10(values.max() ?? 10).rounded(.up))
        let maxUsers = Double(users.max() ?? 1)
        plot.xRange = (0, maxUsers * 1.05)
        plot.yRange = (low, high)
        plot.xLabel = "users"
        plot.yLabel = "live events/s"
        for count in users { plot.xTick(Double(count), Format.count(count)) }
        for decade in Int(low)...Int(high) { plot.yTick(Double(decade), Format.count(Int(Foundation.pow(10, Double(decade))))) }
        for engine in EngineName.allCases {
            let points = report.runs.compactMap { run in run.engines[engine.rawValue].map { (Double(run.users), Foundation.log10($0.eventsPerS)) } }
            guard !points.isEmpty else { continue }
            plot.line(points, color: Self.colors[engine] ?? "black", label: engine.rawValue, dots: true)
            for run in report.runs {
                guard let range = run.range[engine.rawValue], report.trialCount > 1 else { continue }
                plot.whisker(x: Double(run.users), from: Foundation.log10(range.min.eventsPerS), to: Foundation.log10(range.max.eventsPerS), color: Self.colors[engine])
            }
        }
        return plot.svg()
    }
}

/// A plot area with axes in data coordinates (already transformed: logarithms where the axis is
/// logarithmic), a legend on the right, and the SVG it makes.
struct SVGPlot {
    static let width = 820.0, height = 460.0
    static let left = 90.0, right = 170.0, top = 48.0, bottom = 70.0
    var title: String
    var xRange = (0.0, 1.0)
    var yRange = (0.0, 1.0)
    var xLabel = ""
    var yLabel = ""
    private var body = ""
    private var legend: [(String, String)] = []

    init(title: String) { self.title = title }

    private var plotWidth: Double { Self.width - Self.left - Self.right }
    private var plotHeight: Double { Self.height - Self.top - Self.bottom }

    func px(_ x: Double) -> Double { Self.left + self.plotWidth * (x - self.xRange.0) / max(self.xRange.1 - self.xRange.0, 1e-9) }
    func py(_ y: Double) -> Double { Self.top + self.plotHeight * (1 - (y - self.yRange.0) / max(self.yRange.1 - self.yRange.0, 1e-9)) }

    private static func f(_ v: Double) -> String { Format.fixed(v, 1) }
    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    mutating func xTick(_ x: Double, _ label: String) {
        self.body += "<line x1=\"\(Self.f(px(x)))\" y1=\"\(Self.f(Self.top))\" x2=\"\(Self.f(px(x)))\" y2=\"\(Self.f(Self.top + self.plotHeight))\" stroke=\"#e5e5e5\"/>\n"
        self.body += "<text x=\"\(Self.f(px(x)))\" y=\"\(Self.f(Self.top + self.plotHeight + 18))\" text-anchor=\"middle\">\(Self.escaped(label))</text>\n"
    }

    mutating func xLabelAt(_ x: Double, _ label: String, second: String? = nil) {
        self.body += "<text x=\"\(Self.f(px(x)))\" y=\"\(Self.f(Self.top + self.plotHeight + 18))\" text-anchor=\"middle\">\(Self.escaped(label))</text>\n"
        if let second {
            self.body += "<text x=\"\(Self.f(px(x)))\" y=\"\(Self.f(Self.top + self.plotHeight + 33))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">\(Self.escaped(second))</text>\n"
        }
    }

    mutating func yTick(_ y: Double, _ label: String) {
        self.body += "<line x1=\"\(Self.f(Self.left))\" y1=\"\(Self.f(py(y)))\" x2=\"\(Self.f(Self.left + self.plotWidth))\" y2=\"\(Self.f(py(y)))\" stroke=\"#e5e5e5\"/>\n"
        self.body += "<text x=\"\(Self.f(Self.left - 8))\" y=\"\(Self.f(py(y) + 4))\" text-anchor=\"end\">\(Self.escaped(label))</text>\n"
    }

    mutating func horizontal(_ y: Double, color: String, dashed: Bool) {
        self.body += "<line x1=\"\(Self.f(Self.left))\" y1=\"\(Self.f(py(y)))\" x2=\"\(Self.f(Self.left + self.plotWidth))\" y2=\"\(Self.f(py(y)))\" stroke=\"\(color)\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>\n"
    }

    mutating func line(_ points: [(Double, Double)], color: String, label: String, dots: Bool = false) {
        let list = points.map { "\(Self.f(px($0.0))),\(Self.f(py($0.1)))" }.joined(separator: " ")
        self.body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(list)\"/>\n"
        if dots || points.count == 1 {
            for point in points { self.body += "<circle cx=\"\(Self.f(px(point.0)))\" cy=\"\(Self.f(py(point.1)))\" r=\"4\" fill=\"\(color)\"/>\n" }
        }
        self.legend.append((color, label))
    }

    mutating func bar(x: Double, width: Double, from: Double, to: Double, color: String, label: String?, text: String) {
        let (top, bottom) = (py(max(from, to)), py(min(from, to)))
        self.body += "<rect x=\"\(Self.f(px(x)))\" y=\"\(Self.f(top))\" width=\"\(Self.f(px(x + width) - px(x)))\" height=\"\(Self.f(max(bottom - top, 1)))\" fill=\"\(color)\"/>\n"
        let textY = to >= from ? top - 4 : bottom + 12
        self.body += "<text x=\"\(Self.f(px(x + width / 2)))\" y=\"\(Self.f(textY))\" text-anchor=\"middle\" font-size=\"10\">\(Self.escaped(text))</text>\n"
        if let label { self.legend.append((color, label)) }
    }

    mutating func whisker(x: Double, from: Double, to: Double, color: String? = nil) {
        let (cx, y1, y2) = (px(x), py(from), py(to))
        let stroke = color ?? "#222"
        self.body += "<line x1=\"\(Self.f(cx))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(cx))\" y2=\"\(Self.f(y2))\" stroke=\"\(stroke)\" stroke-width=\"1.5\"/>\n"
        for y in [y1, y2] {
            self.body += "<line x1=\"\(Self.f(cx - 4))\" y1=\"\(Self.f(y))\" x2=\"\(Self.f(cx + 4))\" y2=\"\(Self.f(y))\" stroke=\"\(stroke)\" stroke-width=\"1.5\"/>\n"
        }
    }

    func svg() -> String {
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Self.left)" y="26" font-size="14">\(Self.escaped(self.title))</text>

            """
        out += self.body
        out += "<rect x=\"\(Self.f(Self.left))\" y=\"\(Self.f(Self.top))\" width=\"\(Self.f(self.plotWidth))\" height=\"\(Self.f(self.plotHeight))\" fill=\"none\" stroke=\"black\"/>\n"
        if !self.xLabel.isEmpty {
            out += "<text x=\"\(Self.f(Self.left + self.plotWidth / 2))\" y=\"\(Self.f(Self.height - 22))\" text-anchor=\"middle\">\(Self.escaped(self.xLabel))</text>\n"
        }
        if !self.yLabel.isEmpty {
            let y = Self.top + self.plotHeight / 2
            out += "<text x=\"18\" y=\"\(Self.f(y))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(Self.f(y)))\">\(Self.escaped(self.yLabel))</text>\n"
        }
        for (index, (color, label)) in self.legend.enumerated() {
            let y = Self.top + 10 + 22 * Double(index)
            out += "<rect x=\"\(Self.f(Self.width - Self.right + 16))\" y=\"\(Self.f(y - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            out += "<text x=\"\(Self.f(Self.width - Self.right + 34))\" y=\"\(Self.f(y + 2))\">\(Self.escaped(label))</text>\n"
        }
        return out + "</svg>\n"
    }
}
