#pragma once

#include <boost/asio/ssl/context.hpp>

namespace dp::io {

// The one TLS policy of dialplane's outgoing connections (webhooks, listen websockets): TLS 1.2 or newer, and the
// server's certificate checked against the system's CAs unless `verify_peer` is off (tests, private CAs).
boost::asio::ssl::context tls_client_context(bool verify_peer);

}  // namespace dp::io
