// The SIGKILL test's victim: logs metric points to a ledger-only Tracker without end and
// prints "flushed N" once flush() reported the first N points durable.
#include <cstdio>
#include <string>

#include "tracking/tracker.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tracking_crash_logger LEDGER\n");
    return 2;
  }
  wmtp::tracking::TrackerOptions options;
  options.ledger_path = argv[1];
  options.tracking_uri = "";
  wmtp::tracking::Tracker tracker(options);
  auto run = tracker.start_run({"crash", "victim", {}});
  std::printf("run %s\n", run->local_run_id().c_str());
  std::fflush(stdout);
  for (long long n = 0;;) {
    for (int i = 0; i < 5000; ++i, ++n) run->log_metric("loss", static_cast<double>(n), n);
    run->flush();
    std::printf("flushed %lld\n", n);
    std::fflush(stdout);
  }
}
