// mantle sim's inputs: the trace and cluster files and the two importers.
// Errors name their source; what an importer writes is a trace the simulator
// reads, with as many jobs as it says.
#include "fuzz_check.hpp"
#include "sim/import.hpp"
#include "sim/workload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(mantle::fuzz::text(data, size));
  auto trace = mantle::sim::parseTrace(input, "fuzz.jsonl");
  if (!trace.ok()) {
    MANTLE_FUZZ_CHECK(trace.error().message.rfind("fuzz.jsonl:", 0) == 0, trace.error().message);
  }
  auto cluster = mantle::sim::parseCluster(input, "fuzz.json");
  if (!cluster.ok()) {
    MANTLE_FUZZ_CHECK(cluster.error().message.rfind("fuzz.json", 0) == 0, cluster.error().message);
  } else if (trace.ok()) {
    (void)mantle::sim::checkTrace(*cluster, *trace, "fuzz.jsonl");
  }
  for (const char* format : {"google2019", "alibaba2018"}) {
    mantle::sim::ImportStats stats;
    auto imported = mantle::sim::importTrace(input, "fuzz.in", {format, ""}, &stats);
    if (!imported.ok()) {
      MANTLE_FUZZ_CHECK(imported.error().message.rfind("fuzz.in:", 0) == 0, imported.error().message);
      continue;
    }
    auto reread = mantle::sim::parseTrace(*imported, "imported");
    MANTLE_FUZZ_CHECK(reread.ok(), std::string(format) + ": " + reread.error().message + "\n" + *imported);
    MANTLE_FUZZ_CHECK(reread->jobs.size() == stats.jobsWritten, std::string(format) + ": job count");
  }
  return 0;
}
