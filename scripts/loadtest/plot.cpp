#include "scripts/loadtest/plot.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace switchboard::load {
namespace {

namespace fs = std::filesystem;

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Milliseconds, or an empty field (gnuplot: missing) for a second without samples.
std::string ms_field(const second_sample& s, std::int64_t ns) {
  if (s.samples == 0) return "";
  std::ostringstream out;
  out << static_cast<double>(ns) / 1e6;
  return out.str();
}

void write_csv(const fs::path& file, const std::vector<second_sample>& series) {
  std::ofstream out(file);
  out << "second,phase,connections,handshakes_per_s,sent_per_s,acked_per_s,delivered_per_s,errors_per_s,"
         "samples,p50_ms,p90_ms,p99_ms,p99_9_ms,max_ms\n";
  for (const auto& s : series) {
    out << s.second << ',' << s.phase << ',' << (s.total.opened - s.total.lost) << ',' << s.delta.opened << ','
        << s.delta.sent << ',' << s.delta.acked << ',' << s.delta.delivered << ',' << s.delta.errors << ','
        << s.samples << ',' << ms_field(s, s.p50) << ',' << ms_field(s, s.p90) << ',' << ms_field(s, s.p99) << ','
        << ms_field(s, s.p999) << ',' << ms_field(s, s.max) << '\n';
  }
  if (!out) throw std::runtime_error("--plot: cannot write " + file.string());
}

void write_script(const fs::path& file, const fs::path& dir, const options& o) {
  const std::string csv = (dir / "timeseries.csv").string();
  const std::string title = "switchboard-load " + std::string(to_string(o.scenario)) + " " + o.url;
  std::ofstream out(file);
  out << "# Redraw with: gnuplot " << file.string() << "\n"
      << "set datafile separator ','\n"
      << "set terminal pngcairo size 1100,550 noenhanced\n"
      << "set grid\nset key top left\nset xlabel 'seconds since start'\n"
      // Headroom above the highest point, so a flat line is not drawn on the border.
      << "set offsets 0, 0, graph 0.1, 0\n"
      << "csv = '" << csv << "'\n"
      // Deliveries can outnumber sends by the fan-out factor: sends get the right axis.
      << "set output '" << (dir / "throughput.png").string() << "'\n"
      << "set title '" << title << ": throughput'\n"
      << "set ylabel 'deliveries, handshakes per second'\nset y2label 'requests per second'\n"
      << "set ytics nomirror\nset y2tics\nset yrange [0:*]\nset y2range [0:*]\n"
      << "plot csv every ::1 using 1:7 with lines lw 2 title 'delivered/s', \\\n"
      << "     csv every ::1 using 1:4 with lines lw 2 title 'handshakes/s', \\\n"
      << "     csv every ::1 using 1:5 axes x1y2 with lines title 'sent/s (right)', \\\n"
      << "     csv every ::1 using 1:6 axes x1y2 with lines dt 2 title 'acked/s (right)'\n"
      << "unset y2tics\nunset y2label\nset ytics mirror\n"
      << "set output '" << (dir / "latency.png").string() << "'\n"
      << "set title '" << title << ": latency of each second'\n"
      << "set ylabel 'milliseconds (log scale)'\nset logscale y\nset yrange [*:*]\n"
      << "plot csv every ::1 using 1:10 with lines title 'p50', \\\n"
      << "     csv every ::1 using 1:11 with lines title 'p90', \\\n"
      << "     csv every ::1 using 1:12 with lines lw 2 title 'p99', \\\n"
      << "     csv every ::1 using 1:13 with lines title 'p99.9', \\\n"
      << "     csv every ::1 using 1:14 with lines dt 2 title 'max'\n";
  if (!out) throw std::runtime_error("--plot: cannot write " + file.string());
}

void run_gnuplot(const fs::path& script) {
  std::string path = script.string();
  char* argv[] = {const_cast<char*>("gnuplot"), path.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ) != 0)
    throw std::runtime_error("--plot: cannot run gnuplot");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("--plot: gnuplot failed on " + path);
}

}  // namespace

void check_gnuplot() {
  if (!on_path("gnuplot"))
    throw std::runtime_error(
        "--plot needs gnuplot, which is not installed: apt-get install gnuplot-nox (scripts/load.sh does it)");
}

void write_plots(const std::string& dir_name, const options& o, const std::vector<second_sample>& series) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_name, ec);
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("--plot: cannot create " + dir_name + ": " + ec.message());
  write_csv(dir / "timeseries.csv", series);
  write_script(dir / "plot.gp", dir, o);
  run_gnuplot(dir / "plot.gp");
}

}  // namespace switchboard::load
