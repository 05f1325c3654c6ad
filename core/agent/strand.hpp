// The agent's one thread of state: every map the agent keeps is touched only
// by handlers running on this strand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace mantle::agent {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

}  // namespace mantle::agent
