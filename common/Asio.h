#pragma once
// The one way to include Boost.Asio in this tree. Boost 1.74's awaitable.hpp
// uses std::exchange without including <utility>, which g++ 12 no longer
// pulls in transitively.
#include <utility>

#include <boost/asio.hpp>

namespace mos {
namespace asio = boost::asio;
}  // namespace mos
