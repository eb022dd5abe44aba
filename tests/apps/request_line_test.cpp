// The gate's reading of a connection's first bytes: a request line is good once whole, waited
// for while it may still become one, and bad as soon as it cannot (garbage, a TLS handshake,
// HTTP/0.9, a control character), whatever is cut where.
#include <gtest/gtest.h>

#include "request_line.hpp"

namespace digitnet::cli {
namespace {

using V = RequestLineCheck::Verdict;

V verdict(std::string_view bytes) { return check_request_line(bytes).verdict; }

TEST(RequestLine, WholeLinesAreGoodAndTheirPrefixesIncomplete) {
  for (const std::string_view line :
       {"GET / HTTP/1.1\r\n", "POST /api/predict HTTP/1.0\n", "\r\nGET / HTTP/1.1\r\n", "GET  /x?y=1%20z  HTTP/1.1\r\n",
        "OPTIONS * HTTP/1.1\r\n", "GET http://h/ HTTP/2.0\r\n", "M-SEARCH /\xc3\xa9 HTTP/1.1 \r\n"}) {
    EXPECT_EQ(verdict(line), RequestLineCheck::good) << line;
    EXPECT_EQ(verdict(std::string(line) + "Host: x\r\n\r\n"), RequestLineCheck::good) << line;
    for (std::size_t n = 0; n < line.size(); ++n)
      EXPECT_EQ(verdict(line.substr(0, n)), RequestLineCheck::incomplete) << line.substr(0, n);
  }
}

TEST(RequestLine, WhatCannotBeARequestLineIsBadAtOnce) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"garbage\r\n", "is not METHOD TARGET HTTP/x.y"},
      {"hello\n", "is not METHOD TARGET HTTP/x.y"},
      {"GET /\r\n", "is not METHOD TARGET HTTP/x.y"},  // HTTP/0.9
      {"GET \r\n", "is not METHOD TARGET HTTP/x.y"},
      {std::string_view("\x16\x03\x01\x02\x00\x01", 6), "does not begin with a method"},  // a TLS handshake
      {std::string_view("\0GET / HTTP/1.1\r\n", 17), "does not begin with a method"},
      {"G\x01T / HTTP/1.1\r\n", "holds a character that no method has"},
      {"GET /a\x7f HTTP/1.1\r\n", "holds a control character"},
      {"GET / FOO/1.1\r\n", "does not end in HTTP/x.y"},
      {"GET / HTTP/1.1 extra\r\n", "does not end in HTTP/x.y"},
      {"GET / HTTP/1.10\r\n", "does not end in HTTP/x.y"},
      {"GET / http/1.1\r\n", "does not end in HTTP/x.y"},
      {"GET / HTTP/1.1\rX", "a CR in the request line without its LF"},
      {"\r\n\r\n\r\n\r\n\r\nGET", "more than a few empty lines"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ", "the method is too long"},
  };
  for (const auto& [bytes, why] : cases) {
    const RequestLineCheck c = check_request_line(bytes);
    EXPECT_EQ(c.verdict, RequestLineCheck::bad) << testing::PrintToString(std::string(bytes));
    EXPECT_NE(std::string_view(c.why).find(why), std::string_view::npos) << c.why;
  }
  // Bad from the first byte that cannot belong: no need to wait for a line end.
  EXPECT_EQ(verdict("\x16"), RequestLineCheck::bad);
  EXPECT_EQ(verdict("GET / HTTP/1.1 x"), RequestLineCheck::bad);
}

TEST(RequestLine, MethodsAreTokens) {
  EXPECT_TRUE(is_http_token("GET"));
  EXPECT_TRUE(is_http_token("M-SEARCH"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_FALSE(is_http_token("G T"));
  EXPECT_FALSE(is_http_token(std::string_view("G\0T", 3)));
  EXPECT_FALSE(is_http_token("G\x01T"));
  EXPECT_FALSE(is_http_token("GET\xc3\xa9"));
}

}  // namespace
}  // namespace digitnet::cli
