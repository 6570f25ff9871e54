// `halio bench`'s output: the table, one JSON line per row (keys in
// bench/README.md) and the --plot PNG, plus the numbers as they are shown.
//
// Thread-safety: stateless functions.
#ifndef HALIO_SRC_TOOLS_BENCH_REPORT_H_
#define HALIO_SRC_TOOLS_BENCH_REPORT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "halio/status.h"
#include "bench.h"
#include "bench_runner.h"

namespace halio::tools {

// The median of `values`; 0 when empty.
double Median(std::vector<double> values);

// "4 MiB" for 4194304, "1000 B" for 1000: the largest unit that divides.
std::string HumanBytes(uint64_t bytes);

// The line above the table: what was measured, on which file (`path`,
// `length` bytes), into which buffer, how many runs.
void PrintHeading(const BenchOptions& options, const std::string& path, uint64_t length,
                  std::ostream& out);

// The table's header line and one line per row (errors in place of numbers).
void PrintTable(const BenchOptions& options, const std::vector<BenchRow>& results,
                std::ostream& out);

// One row as a JSON object, without a newline.
std::string JsonLine(const BenchOptions& options, const BenchRow& r, uint64_t length);

// "[3/14] io_uring local_async bs=256 KiB qd=1", for progress lines.
std::string ConfigLabel(size_t index, size_t count, const BenchConfig& config);

// Writes options.plot (a PNG) through plot_throughput.py. Errors: as
// RunPlotScript.
Status Plot(const BenchOptions& options, const std::vector<BenchRow>& results,
            uint64_t length);

// Runs halio's script `script_name` (scripts.h) with Debian's Python on
// `json_lines` (in a file beside `png`, removed after) to write `png`.
// Errors: NOT_FOUND when the script is missing; UNAVAILABLE when it fails
// (matplotlib missing).
Status RunPlotScript(const std::string& script_name, const std::string& json_lines,
                     const std::string& png);

// Prints what --plot did ("wrote ...", or why not); 1 when it failed, else 0.
int ReportPlot(const BenchOptions& options, const Status& plotted, std::ostream& err);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_BENCH_REPORT_H_
