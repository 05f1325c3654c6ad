#include "master/flags.hpp"

#include "flags/flags.hpp"
#include "zookeeper/url.hpp"

namespace mantle::master {

Result<MasterFlags> parseFlags(int argc, const char* const* argv, std::string* usage) {
  MasterFlags f;
  flags::FlagSet set("mantle-master",
                     "The Mantle master: agents, frameworks, offers and tasks behind the Mesos v1 scheduler and "
                     "operator HTTP APIs.");
  set.addString("ip", &f.ip, "IP address to listen on (default 0.0.0.0).");
  set.addInt("port", &f.port, "Port to listen on (default 5050).");
  set.addString("hostname", &f.hostname,
                "Host name the master advertises (MasterInfo.hostname, redirects). Default: the machine's host name.");
  set.addString("work_dir", &f.workDir,
                "Directory of the registry file (admitted agents, frameworks, agents marked gone). Without it "
                "nothing survives a master restart.");
  set.addOptional("modules", &f.modules,
                  "Module manifest: inline JSON, a file (file:///path allowed) or a directory of *.json files. "
                  "Default: the built-in manifest (<prefix>/etc/mantle/modules.json).");
  set.addString("allocator", &f.allocator, "Instance name of the allocator module to use (default drf).");
  set.addString("hooks", &f.hooks,
                "Hook module instances of the manifest, comma separated, called in this order (docs/HOOKS.md). "
                "Default: none.");
  set.addDuration("allocation_interval", &f.allocationInterval,
                  "Time between allocation cycles (default 1secs).");
  set.addDuration("offer_timeout", &f.offerTimeout,
                  "Offers not used or declined within this time are rescinded. Default: never.");
  set.addDuration("agent_reregister_timeout", &f.agentReregisterTimeout,
                  "How long a disconnected agent (or, after a master restart, a recovered one) may take to "
                  "re-register before its tasks become TASK_UNREACHABLE (default 10mins).");
  set.addDuration("heartbeat_interval", &f.heartbeatInterval,
                  "Interval of HEARTBEAT events on scheduler and operator event streams (default 15secs, as Mesos).");
  set.addDuration("agent_heartbeat_interval", &f.agentHeartbeatInterval,
                  "Interval of HEARTBEAT events on master -> agent streams (default 15secs).");
  set.addOptional("zk", &f.zk,
                  "ZooKeeper URL for leader election and the registry: zk://host1:port1,host2:port2/path, "
                  "zk://user:password@hosts/path (digest credentials) or file:///file holding one (docs/HA.md). "
                  "Default: standalone (one master, registry in --work_dir).");
  set.addDuration("zk_session_timeout", &f.zkSessionTimeout,
                  "ZooKeeper session timeout (default 10secs, as Mesos). A leader that loses its session exits.");
  set.addInt("quorum", &f.quorum,
             "Accepted for Mesos compatibility (its replicated log) and ignored: ZooKeeper replicates the registry.");
  set.addString("cluster", &f.cluster, "Human readable name of the cluster, shown in /master/state.");
  set.addInt("max_completed_frameworks", &f.maxCompletedFrameworks,
             "Completed frameworks kept for the state endpoints (default 50).");
  set.addInt("max_completed_tasks_per_framework", &f.maxCompletedTasksPerFramework,
             "Completed tasks kept per framework for the state endpoints (default 1000).");
  set.addInt("max_operator_event_stream_subscribers", &f.maxOperatorEventStreamSubscribers,
             "Operator API SUBSCRIBE streams kept open; beyond it the oldest is closed (default 1000).");
  set.addInt("http_threads", &f.httpThreads, "Threads serving HTTP connections (default 2).");
  set.addString("log_dir", &f.logDir, "Directory for glog files. Default: log to stderr.");
  auth::addSecurityFlags(set, &f.security, auth::Side::kMaster);
  Status parsed = set.parse(argc, argv);
  if (!parsed.ok()) return parsed.error();
  if (set.helpRequested()) {
    *usage = set.usage();
    return f;
  }
  f.values = set.values();
  // /flags and GET_FLAGS never show ZooKeeper credentials.
  for (auto& [name, value] : f.values) {
    if (name != "zk" || !f.zk) continue;
    Result<zookeeper::ZkUrl> url = zookeeper::parseZkUrl(*f.zk);
    if (url.ok()) value = url->redacted();
  }
  return f;
}

Status checkFlags(const MasterFlags& f) {
  if (f.zk) {
    Result<zookeeper::ZkUrl> url = zookeeper::parseZkUrl(*f.zk);
    if (!url.ok()) return url.error().withContext("--zk");
  }
  if (f.zkSessionTimeout <= 0) return invalidArgument("--zk_session_timeout must be positive");
  if (f.port < 0 || f.port > 65535) return invalidArgument("--port must be between 0 and 65535");
  if (f.allocationInterval <= 0) return invalidArgument("--allocation_interval must be positive");
  if (f.offerTimeout < 0) return invalidArgument("--offer_timeout must not be negative");
  if (f.agentReregisterTimeout <= 0) return invalidArgument("--agent_reregister_timeout must be positive");
  if (f.heartbeatInterval <= 0) return invalidArgument("--heartbeat_interval must be positive");
  if (f.agentHeartbeatInterval <= 0) return invalidArgument("--agent_heartbeat_interval must be positive");
  if (f.httpThreads < 1 || f.httpThreads > 64) return invalidArgument("--http_threads must be between 1 and 64");
  if (f.allocator.empty()) return invalidArgument("--allocator must name an allocator instance");
  if (Status s = auth::checkSecurityFlags(f.security, auth::Side::kMaster); !s.ok()) return s;
  return {};
}

}  // namespace mantle::master
