#include "common/static_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace switchboard {
namespace {
namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// A www directory beside a secret file that must never be served.
class static_files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("sb-static-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    write_file(base_ / "secret.txt", "secret");
    write_file(www() / "index.html", "<!doctype html>");
    write_file(www() / "switchboard.js", "export {}");
    write_file(www() / "css" / "style.css", "body{}");
    write_file(www() / "docs" / "index.html", "docs");
    write_file(www() / "empty" / "keep.txt", "");
    write_file(www() / ".hidden", "hidden");
    write_file(www() / "a b.txt", "space");
    write_file(www() / "big.bin", std::string(2048, 'x'));
    fs::create_symlink(base_ / "secret.txt", www() / "escape.txt");
    fs::create_symlink(www() / "switchboard.js", www() / "alias.js");
  }
  void TearDown() override { fs::remove_all(base_); }

  fs::path www() const { return base_ / "www"; }
  static_files files() const { return static_files(www(), 1024); }

  std::string body_of(std::string_view path) const {
    auto found = files().find(path);
    auto* file = std::get_if<static_file>(&found);
    return file ? file->body : "<miss>";
  }
  bool missing(std::string_view path) const {
    auto found = files().find(path);
    auto* miss = std::get_if<static_miss>(&found);
    return miss && *miss == static_miss::not_found;
  }

  fs::path base_;
};

TEST_F(static_files_test, serves_files_with_their_content_type) {
  auto found = files().find("/switchboard.js");
  ASSERT_TRUE(std::holds_alternative<static_file>(found));
  const auto& file = std::get<static_file>(found);
  EXPECT_EQ(file.body, "export {}");
  EXPECT_EQ(file.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(body_of("/css/style.css"), "body{}");
  EXPECT_EQ(body_of("/a%20b.txt"), "space");
}

TEST_F(static_files_test, root_and_directories_serve_their_index) {
  EXPECT_EQ(body_of("/"), "<!doctype html>");
  EXPECT_EQ(body_of("/docs"), "docs");
  EXPECT_EQ(body_of("/docs/"), "docs");
  EXPECT_TRUE(missing("/empty/"));
}

TEST_F(static_files_test, refuses_traversal_in_every_spelling) {
  for (auto path : {"/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                    "/..%2fsecret.txt", "/..%2Fsecret.txt", "/css%2f..%2f..%2fsecret.txt", "/..%5csecret.txt",
                    "/%252e%252e/secret.txt", "/./index.html", "/.hidden", "/%2ehidden", "/escape.txt",
                    "/index.html%00", "/index.html%00.js", "secret.txt", "", "//etc/passwd", "/missing.js",
                    "/%zz"})
    EXPECT_TRUE(missing(path)) << path;
}

TEST_F(static_files_test, follows_symlinks_that_stay_inside) { EXPECT_EQ(body_of("/alias.js"), "export {}"); }

TEST_F(static_files_test, refuses_files_over_the_size_limit) {
  auto found = files().find("/big.bin");
  ASSERT_TRUE(std::holds_alternative<static_miss>(found));
  EXPECT_EQ(std::get<static_miss>(found), static_miss::too_large);
  EXPECT_EQ(static_files(www(), 4096).find("/big.bin").index(), 0u);
}

TEST_F(static_files_test, etag_changes_when_the_file_does) {
  auto first = std::get<static_file>(files().find("/switchboard.js")).etag;
  EXPECT_EQ(first, std::get<static_file>(files().find("/switchboard.js")).etag);
  EXPECT_EQ(first.front(), '"');
  EXPECT_EQ(first.back(), '"');
  write_file(www() / "switchboard.js", "export const changed = 1;");
  EXPECT_NE(first, std::get<static_file>(files().find("/switchboard.js")).etag);
}

TEST_F(static_files_test, an_empty_or_missing_root_serves_nothing) {
  EXPECT_EQ(static_files("", 1024).find("/").index(), 1u);
  EXPECT_EQ(static_files(base_ / "nope", 1024).find("/").index(), 1u);
}

TEST(content_type_for, knows_the_web_types) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("app.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("data.json"), "application/json");
  EXPECT_EQ(content_type_for("archive.tar"), "application/octet-stream");
  EXPECT_EQ(content_type_for(".js"), "application/octet-stream");
  EXPECT_EQ(content_type_for("noextension"), "application/octet-stream");
}

TEST(etag_matches, follows_if_none_match_rules) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches(" \"x\" ,\t\"abc\" ", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("abc", "\"abc\""));
  EXPECT_FALSE(etag_matches(",,", "\"abc\""));
}

}  // namespace
}  // namespace switchboard
