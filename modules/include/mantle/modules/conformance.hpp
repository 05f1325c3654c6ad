// The module conformance kit behind `mantle modules test`: runs the promises
// of a module's kind against a vendor's library and reports each one. The
// module runs out of process ("process": "separate"), so a module that
// crashes or hangs is a failed promise in the report, not a dead kit.
//
// Isolators: the lifecycle in Mesos' order with a fake container (recover with
// unknown containers, prepare, isolate with a real process, update, usage,
// status, cleanup), cleanup of a never-prepared container, calls after
// cleanup, concurrent containers, deadlines, no exceptions escaping, garbage
// requests refused, no threads left behind by destroy. Hooks, authenticators
// and authorizers: every method of the kind (kinds.h) answers an empty
// request, garbage is refused, and the kind's own contract (an authenticator
// lets no request without credentials in; an authorizer answers; a
// secret_resolver refuses an unknown reference naming it).
//
// Allocators: Mesos' allocator contract (allocator_cases.cpp), each case on a
// fresh instance. Allocators run only in process (docs/MODULES.md §6.1), so
// the kit loads them into its own process: a crash ends the run. A case the
// module does not promise (fair sharing, say) is declared in
// Options::notApplicable and reported as skipped with the reason.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::modules::conformance {

struct Options {
  std::string library;  // path of the .so
  std::string module;   // empty: the library's only module (an error if it has several)
  std::string configJson = "{}";
  std::string moduleHostProgram;  // empty: next to this executable
  std::string scratchDir;         // for sandboxes; empty: a temporary directory
  // Cases the module declares it does not promise: name -> why (allocators).
  std::map<std::string, std::string> notApplicable;
};

enum class Outcome { kPass, kFail, kSkip };

struct Case {
  std::string name;     // "cleanup-unknown-container"
  std::string promise;  // what the module promises, in words
  Outcome outcome = Outcome::kPass;
  std::string detail;  // why it failed or was skipped
  bool needsRoot = false;
};

struct Report {
  std::string library;
  std::string module;
  std::string kind;
  std::vector<Case> cases;

  bool passed() const;
  std::string text() const;
  std::string json() const;
};

// Errors are those of loading the module (the report could not start).
Result<Report> run(const Options& options);

// The allocator cases' names, in the order run() reports them.
std::vector<std::string> allocatorCaseNames();

// One allocator case against `module` of options.library, on a fresh
// instance. Errors: no such case, or the module could not be loaded.
Result<Case> runAllocatorCase(const std::string& name, const Options& options, const std::string& module);

}  // namespace mantle::modules::conformance
