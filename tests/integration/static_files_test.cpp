// Static files over HTTP: content types, ETag and 304, HEAD, methods, the
// size limit, and requests that try to leave the directory.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {
namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// A node serving a www directory of the test's, beside a file it must not serve.
class static_files_test : public cluster_test {
 protected:
  void SetUp() override {
    cluster_test::SetUp();
    base_ = fs::temp_directory_path() / ("sb-www-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    write_file(base_ / "secret.txt", "top secret");
    write_file(base_ / "www" / "index.html", "<!doctype html><title>t</title>");
    write_file(base_ / "www" / "app.js", "export const x = 1;\n");
    write_file(base_ / "www" / "css" / "style.css", "body{margin:0}");
    write_file(base_ / "www" / "big.bin", std::string(4096, 'x'));
    start_server({.extra_flags = {"--www-dir", (base_ / "www").string(), "--static-max-bytes", "2KiB"}});
  }
  void TearDown() override { fs::remove_all(base_); }

  fs::path base_;
};

TEST_F(static_files_test, serves_files_with_content_type_and_etag) {
  const auto port = server().port();
  auto page = http_get(port, "/");
  ASSERT_EQ(page.status, 200u) << page.error;
  EXPECT_EQ(page.body, "<!doctype html><title>t</title>");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(page.headers["cache-control"], "no-cache");

  auto script = http_get(port, "/app.js?v=2");
  ASSERT_EQ(script.status, 200u) << script.error;
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body, "export const x = 1;\n");
  EXPECT_EQ(http_get(port, "/css/style.css").content_type, "text/css; charset=utf-8");

  const auto etag = script.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto again = http_request(port, "GET", "/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u) << again.error;
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], etag);
  auto among = http_request(port, "GET", "/app.js", {{"If-None-Match", "\"other\", W/" + etag}});
  EXPECT_EQ(among.status, 304u);
  auto stale = http_request(port, "GET", "/app.js", {{"If-None-Match", "\"other\""}});
  EXPECT_EQ(stale.status, 200u);
  EXPECT_EQ(stale.body, script.body);

  // Edited on disk: a new ETag, and the old one no longer matches.
  write_file(base_ / "www" / "app.js", "export const x = 2;\n");
  auto edited = http_request(port, "GET", "/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(edited.status, 200u);
  EXPECT_EQ(edited.body, "export const x = 2;\n");
  EXPECT_NE(edited.headers["etag"], etag);
}

TEST_F(static_files_test, head_has_the_headers_and_no_body) {
  auto head = http_request(server().port(), "HEAD", "/app.js");
  ASSERT_EQ(head.status, 200u) << head.error;
  EXPECT_EQ(head.headers["content-length"], "20");
  EXPECT_EQ(head.body, "");
  EXPECT_FALSE(head.headers["etag"].empty());
}

TEST_F(static_files_test, other_methods_get_405) {
  for (auto method : {"POST", "PUT", "DELETE"}) {
    auto res = http_request(server().port(), method, "/app.js");
    EXPECT_EQ(res.status, 405u) << method << " " << res.error;
    EXPECT_EQ(res.headers["allow"], "GET, HEAD") << method;
  }
}

TEST_F(static_files_test, missing_files_get_404_and_big_ones_403) {
  EXPECT_EQ(http_get(server().port(), "/nope.js").status, 404u);
  EXPECT_EQ(http_get(server().port(), "/css/").status, 404u);  // a directory without index.html
  EXPECT_EQ(http_get(server().port(), "/big.bin").status, 403u);
}

TEST_F(static_files_test, requests_out_of_the_directory_get_404) {
  for (auto target : {"/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                      "/..%2fsecret.txt", "/css%2f..%2f..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt",
                      "/%252e%252e/secret.txt", "/.%2e/secret.txt", "/index.html%00", "//secret.txt",
                      "/css/./style.css"}) {
    auto res = http_get(server().port(), target);
    EXPECT_EQ(res.status, 404u) << target << " " << res.error;
    EXPECT_EQ(res.body.find("top secret"), std::string::npos) << target;
  }
  // The worker is unharmed.
  EXPECT_EQ(http_get(server().port(), "/healthz").status, 200u);
}

// Without --www-dir, the node serves the project's own demo page.
TEST_F(cluster_test, default_www_dir_serves_the_demo_page) {
  start_server();
  auto page = http_get(server().port(), "/");
  ASSERT_EQ(page.status, 200u) << page.error;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<html"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::testing
