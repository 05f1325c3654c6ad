// The fetcher: puts an executor's CommandInfo.uris into its sandbox before
// the executor starts, with Mesos' URI fields:
//   value        an absolute path, file:///path (copied), http:// or https://
//                (downloaded with core/http, TLS verified, up to 5 redirects)
//   output_file  the name in the sandbox (relative, may name a sub-directory;
//                default: the last path segment of `value`)
//   executable   chmod a+x, never extracted
//   extract      (default true) .tar, .tar.gz/.tgz, .tar.bz2/.tbz2,
//                .tar.xz/.txz (tar) and .zip (unzip) are unpacked into the
//                directory of the fetched file, which stays, as the task's
//                user when one is given; other files are left as they are
//   cache        ignored: every URI is fetched for every launch
// A download that stalls fails after `stallTimeoutSeconds` (Mesos'
// --fetcher_stall_timeout). Blocking (downloads, copies, extraction): the
// agent runs it off its strand.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::agent {

struct FetchOptions {
  // Set it to stop a download in progress (the fetch then fails).
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  // Less than one byte per second for this long fails a download; 0: never.
  double stallTimeoutSeconds = 60;
  // Archives are extracted as this user (the task's, with --switch_user):
  // the directory they go to is given to the user first, and tar/unzip run
  // under setpriv. Unset: as the agent's user.
  std::optional<std::string> user;
};

// Fetches every URI into `sandbox`, in order; stops at the first failure,
// whose message names the URI and the cause.
Status fetchUris(const std::vector<mesos::v1::CommandInfo::URI>& uris, const std::string& sandbox,
                 const FetchOptions& options);

}  // namespace mantle::agent
