// mantle-master: parse flags, start the master, run until SIGINT/SIGTERM.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include <glog/logging.h>

#include "master/flags.hpp"
#include "master/master.hpp"

int main(int argc, char** argv) {
  std::string usage;
  mantle::Result<mantle::master::MasterFlags> flags = mantle::master::parseFlags(argc, argv, &usage);
  if (!flags.ok()) {
    std::cerr << "mantle-master: " << flags.error().message << "\n(see --help)\n";
    return 1;
  }
  if (!usage.empty()) {
    std::cout << usage;
    return 0;
  }
  if (mantle::Status s = mantle::master::checkFlags(*flags); !s.ok()) {
    std::cerr << "mantle-master: " << s.error().message << "\n";
    return 1;
  }
  FLAGS_logtostderr = flags->logDir.empty();
  if (!flags->logDir.empty()) FLAGS_log_dir = flags->logDir;
  google::InitGoogleLogging(argv[0]);

  // Signals are taken synchronously by this thread; every other thread
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mantle::master::Master master(std::move(*flags));
  if (mantle::Status s = master.start(); !s.ok()) {
    std::cerr << "mantle-master: " << s.error().message << "\n";
    return 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  LOG(INFO) << "Received signal " << received << "; stopping";
  master.stop();
  return 0;
}
