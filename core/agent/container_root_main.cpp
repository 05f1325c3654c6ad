// mantle-container-root: the root process of one container, started by the
// agent with the container's plan (agent/container_root.hpp says how). Not
// meant to be run by hand.
#include "agent/container_root.hpp"

int main() {
  mantle::agent::runContainerRoot();
}
