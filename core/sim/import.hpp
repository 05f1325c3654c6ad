// Importers: subsets of public cluster traces converted into `mantle sim`
// trace lines (docs/SIM.md lists the columns each one reads).
//
//  - google2019: Google cluster-data 2019 (Borg, trace format v3)
//    instance_events exported as JSON lines: time, type, collection_id,
//    instance_index, priority, resource_request.{cpus,memory}.
//  - alibaba2018: Alibaba cluster-trace-v2018 batch_task.csv: task_name,
//    instance_num, job_name, task_type, status, start_time, end_time,
//    plan_cpu, plan_mem.
#pragma once

#include <string>

#include "mantle/result.hpp"
#include "sim/workload.hpp"

namespace mantle::sim {

struct ImportOptions {
  std::string format;  // "google2019" or "alibaba2018"
  // What a normalised 1.0 stands for: google2019 scales cpus and memory by
  // it, alibaba2018 its memory percentages (plan_cpu is in hundredths of a
  // core already). Empty: the format's default (docs/SIM.md).
  std::string scale;
};

struct ImportStats {
  std::size_t linesRead = 0;
  std::size_t jobsWritten = 0;
  std::size_t skipped = 0;  // records without the data a job needs (never ran, still running, ...)
};

// Converts `input` (named `source` in errors) into trace text.
Result<std::string> importTrace(const std::string& input, const std::string& source, const ImportOptions& options,
                                ImportStats* stats);

}  // namespace mantle::sim
