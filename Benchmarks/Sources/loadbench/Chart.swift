import Foundation

/// events/s against user count, one line per engine, as hand-written SVG (no plotting dependency
/// for one chart). The y axis is logarithmic: the engines differ by orders of magnitude.
enum Chart {
    private static let width = 720.0, height = 420.0
    private static let left = 90.0, right = 150.0, top = 40.0, bottom = 60.0
    private static let colors: [EngineName: String] = [.convostore: "#1f77b4", .sqlite: "#d62728", .rawLMDB: "#2ca02c"]

    static func svg(_ runs: [Report.Run], liveDurable: Bool) -> String {
        let users = runs.map(\.users)
        let values = runs.flatMap { $0.engines.values.map(\.eventsPerS) }.filter { $0 > 0 }
        let lowDecade = (values.min() ?? 1).log10Floor
        let highDecade = max(lowDecade + 1, (values.max() ?? 10).log10Ceil)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maxUsers = Double(users.max() ?? 1)
        func x(_ users: Int) -> Double { left + plotWidth * Double(users) / maxUsers }
        func y(_ value: Double) -> Double {
            top + plotHeight * (1 - (Foundation.log10(value) - Double(lowDecade)) / Double(highDecade - lowDecade))
        }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="24" font-size="15">Live events/s against users (\(liveDurable ? "durable" : "UNSYNCED") commits of \(Runner.batchSize) events)</text>
            <line x1="\(left)" y1="\(top + plotHeight)" x2="\(left + plotWidth)" y2="\(top + plotHeight)" stroke="black"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + plotHeight)" stroke="black"/>

            """
        for decade in lowDecade...highDecade {
            let value = Foundation.pow(10, Double(decade))
            svg += """
                <line x1="\(left)" y1="\(y(value))" x2="\(left + plotWidth)" y2="\(y(value))" stroke="#ddd"/>
                <text x="\(left - 8)" y="\(y(value) + 4)" text-anchor="end">\(Format.count(Int(value)))</text>

                """
        }
        for count in users {
            svg += "<text x=\"\(x(count))\" y=\"\(top + plotHeight + 20)\" text-anchor=\"middle\">\(Format.count(count))</text>\n"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">users</text>\n"
        for (index, engine) in EngineName.allCases.enumerated() {
            let points = runs.compactMap { run in run.engines[engine.rawValue].map { (x(run.users), y($0.eventsPerS)) } }
            guard !points.isEmpty, let color = colors[engine] else { continue }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.map { "\($0.0),\($0.1)" }.joined(separator: " "))\"/>\n"
            for point in points { svg += "<circle cx=\"\(point.0)\" cy=\"\(point.1)\" r=\"4\" fill=\"\(color)\"/>\n" }
            let legendY = top + 20 * Double(index)
            svg += """
                <rect x="\(width - right + 20)" y="\(legendY - 9)" width="12" height="12" fill="\(color)"/>
                <text x="\(width - right + 38)" y="\(legendY + 2)">\(engine.rawValue)</text>

                """
        }
        return svg + "</svg>\n"
    }
}

private extension Double {
    var log10Floor: Int { Int(Foundation.log10(self).rounded(.down)) }
    var log10Ceil: Int { Int(Foundation.log10(self).rounded(.up)) }
}
