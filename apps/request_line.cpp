#include "request_line.hpp"

#include <cstddef>
#include <cstring>

namespace digitnet::cli {
namespace {

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool is_blank(char c) { return c == ' ' || c == '\t'; }

constexpr std::size_t kMaxMethod = 32;
constexpr std::size_t kMaxEmptyLines = 8;  // bytes of CR and LF allowed before the line

}  // namespace

bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text)
    if (!is_tchar(c)) return false;
  return true;
}

RequestLineCheck check_request_line(std::string_view b) {
  const auto bad = [](const char* why) { return RequestLineCheck{RequestLineCheck::bad, why}; };
  const RequestLineCheck incomplete{RequestLineCheck::incomplete};
  std::size_t i = 0;
  // A few empty lines before the request line are to be ignored (RFC 9112, section 2.2).
  while (i < b.size() && (b[i] == '\r' || b[i] == '\n')) ++i;
  if (i > kMaxEmptyLines) return bad("more than a few empty lines before the request line");
  const std::size_t method = i;
  while (i < b.size() && is_tchar(b[i])) ++i;
  if (i - method > kMaxMethod) return bad("the method is too long");
  if (i == b.size()) return incomplete;
  if (i == method) return bad("the request does not begin with a method");
  if (!is_blank(b[i])) {
    if (b[i] == '\r' || b[i] == '\n') return bad("the request line is not METHOD TARGET HTTP/x.y");
    return bad("the method holds a character that no method has");
  }
  // Parts may be parted by more than one space or tab (section 3, as libmicrohttpd reads them).
  while (i < b.size() && is_blank(b[i])) ++i;
  const std::size_t target = i;
  while (i < b.size() && static_cast<unsigned char>(b[i]) > ' ' && b[i] != 0x7f) ++i;
  if (i == b.size()) return incomplete;
  if (b[i] == '\r' || b[i] == '\n' || i == target) return bad("the request line is not METHOD TARGET HTTP/x.y");
  if (!is_blank(b[i])) return bad("the request target holds a control character");
  while (i < b.size() && is_blank(b[i])) ++i;
  constexpr std::string_view kVersion = "HTTP/0.0";  // digits where the zeros are
  for (std::size_t k = 0; k < kVersion.size(); ++k, ++i) {
    if (i == b.size()) return incomplete;
    const bool ok = kVersion[k] == '0' ? b[i] >= '0' && b[i] <= '9' : b[i] == kVersion[k];
    if (!ok) return bad("the request line does not end in HTTP/x.y");
  }
  while (i < b.size() && is_blank(b[i])) ++i;
  if (i == b.size()) return incomplete;
  if (b[i] == '\n') return {RequestLineCheck::good};
  if (b[i] != '\r') return bad("the request line does not end in HTTP/x.y");
  if (i + 1 == b.size()) return incomplete;
  return b[i + 1] == '\n' ? RequestLineCheck{RequestLineCheck::good} : bad("a CR in the request line without its LF");
}

}  // namespace digitnet::cli
