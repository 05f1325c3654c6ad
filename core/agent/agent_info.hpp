// What the agent advertises: resources (detected, then overridden by
// --resources) and attributes (--attributes).
#pragma once

#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::agent {

// cpus, mem, disk and ports as Mesos detects them: every CPU; memory minus
// what the agent keeps (1 GB, or half when the machine has less than 2 GB);
// the work dir's file system minus 5 GB (or half below 10 GB); ports
// 31000-32000. Resources named in `flag` (Mesos text syntax, or a JSON array
// of Resource objects) replace the detected ones of the same name.
Result<std::vector<mesos::v1::Resource>> agentResources(const std::string& flag, const std::string& workDir);

// "rack:r1;level:3;range:[1-4];set:{a,b}": text, scalar, ranges or set.
Result<std::vector<mesos::v1::Attribute>> parseAttributes(const std::string& text);

}  // namespace mantle::agent
