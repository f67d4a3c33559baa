#include "blob/transfer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <cstring>
#include <mutex>

#include "blob/http_source.h"

namespace iss::blob::internal {
namespace {

std::once_flag g_curl_init;

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (int64_t(t->body.size() + len) > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, len);
  return len;
}

// Checks the address libcurl is about to connect to: the resolved one, not the name.
curl_socket_t OnOpenSocket(void* user, curlsocktype, struct curl_sockaddr* addr) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->allow_private && IsPrivate(&addr->addr)) {
    t->refused_address = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

}  // namespace

void InitCurlOnce() {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One classification for every download: blob::IsInternalAddress (http_source.h).
bool IsPrivate(const struct sockaddr* sa) { return IsInternalAddress(sa); }

void InstallGuards(CURL* c, Transfer* t) {
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(t->max_bytes));
}

bool ParseUrl(const std::string& url, std::string* scheme, std::string* host, std::string* port) {
  std::unique_ptr<CURLU, CurlDeleter> u(curl_url());
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &part, 0) != CURLUE_OK) return false;
  *scheme = Lower(part);
  curl_free(part);
  if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) != CURLUE_OK) return false;
  *host = Lower(part);
  curl_free(part);
  port->clear();
  if (curl_url_get(u.get(), CURLUPART_PORT, &part, 0) == CURLUE_OK) {
    *port = part;
    curl_free(part);
  }
  return true;
}

}  // namespace iss::blob::internal
