// Internal to blob/: what every libcurl download here shares. The body is capped at
// max_bytes, and the address libcurl is about to connect to (the resolved one, not the name)
// is refused when it is loopback/private/link-local and the caller did not allow that: the
// check that stops server-side request forgery, for plain http(s) and object storage alike.
// Thread contract: a Transfer belongs to one curl_easy_perform; the functions are pure.
#ifndef ISS_BLOB_TRANSFER_H_
#define ISS_BLOB_TRANSFER_H_

#include <curl/curl.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

namespace iss::blob::internal {

struct Transfer {
  std::string body;
  int64_t max_bytes = 0;
  bool too_large = false;
  bool allow_private = false;
  bool refused_address = false;
};

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Calls curl_global_init once per process.
void InitCurlOnce();
std::string Lower(std::string s);
// Loopback, private, link-local, CGNAT, multicast, unspecified (v4, v6, v4-mapped).
bool IsPrivate(const struct sockaddr* sa);
// Installs the body cap and the address check of `t` on `c` (write and open-socket callbacks).
void InstallGuards(CURL* c, Transfer* t);
// scheme, host (lower-cased) and port ("" when absent) of a URL; false when not parseable.
bool ParseUrl(const std::string& url, std::string* scheme, std::string* host, std::string* port);

}  // namespace iss::blob::internal

#endif  // ISS_BLOB_TRANSFER_H_
