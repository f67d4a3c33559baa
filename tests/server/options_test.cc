#include "server/options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace iss::server {
namespace {

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("options_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    unsetenv("ISS_LISTEN");
    unsetenv("ISS_FETCH_ALLOWED_HOSTS");
    std::filesystem::remove_all(dir_);
  }
  std::string Write(const std::string& text) {
    std::string path = (dir_ / "c.toml").string();
    std::ofstream(path) << text;
    return path;
  }
  absl::StatusOr<ServerOptions> Load(std::vector<std::string> args) {
    std::vector<const char*> argv = {"imagesearchd"};
    for (const auto& a : args) argv.push_back(a.c_str());
    return LoadOptions(int(argv.size()), argv.data());
  }
  std::filesystem::path dir_;
};

TEST_F(OptionsTest, DefaultsAndTheTwoOperatorFlags) {
  auto o = Load({"--data-dir", "/tmp/x", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->data_dir, "/tmp/x");
  EXPECT_EQ(o->http.host, "127.0.0.1");
  EXPECT_EQ(o->http.port, 0);
  EXPECT_EQ(o->http.max_body_bytes, 32 << 20);
  EXPECT_TRUE(o->auth_enabled);
  EXPECT_TRUE(o->fetch.allowed_hosts.empty());
  EXPECT_EQ(o->model_dir, ISS_MODEL_DIR);
}

TEST_F(OptionsTest, TomlThenEnvThenFlags) {
  std::string file = Write(
      "[server]\nlisten = \"127.0.0.1:1000\"\n[fetch]\nallowed_hosts = [\"a.com\", \"b.com\"]\n"
      "[http]\nworker_threads = 4\n[auth]\nenabled = false\n");
  auto o = Load({"--config", file});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->http.port, 1000);
  EXPECT_EQ(o->fetch.allowed_hosts, (std::vector<std::string>{"a.com", "b.com"}));
  EXPECT_EQ(o->http.worker_threads, 4);
  EXPECT_FALSE(o->auth_enabled);
  setenv("ISS_LISTEN", "127.0.0.1:2000", 1);
  setenv("ISS_FETCH_ALLOWED_HOSTS", "c.com, d.com:81", 1);
  o = Load({"--config", file});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->http.port, 2000);
  EXPECT_EQ(o->fetch.allowed_hosts, (std::vector<std::string>{"c.com", "d.com:81"}));
  o = Load({"--config", file, "--listen", "127.0.0.1:3000"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->http.port, 3000);
}

TEST_F(OptionsTest, RefusesBadInput) {
  EXPECT_FALSE(Load({"--listen", "nohost"}).ok());
  EXPECT_FALSE(Load({"--listen", "127.0.0.1:70000"}).ok());
  EXPECT_FALSE(Load({"--worker-threads", "zero"}).ok());
  EXPECT_FALSE(Load({"--auth-enabled", "maybe"}).ok());
  EXPECT_FALSE(Load({"--no-such-flag"}).ok());
  EXPECT_FALSE(Load({"--index-vector-bits", "12"}).ok());
  auto eight = Load({"--index-vector-bits", "8"});
  ASSERT_TRUE(eight.ok());
  EXPECT_EQ(eight->index.vector_bits, 8);
  // spdlog reads an unknown level name as "off": refused, not a silent server
  EXPECT_FALSE(Load({"--log-level", "loud"}).ok());
  EXPECT_TRUE(Load({"--log-level", "debug"}).ok());
  EXPECT_FALSE(Load({"--config", Write("[server]\nlisten_typo = \"x\"\n")}).ok());
  EXPECT_FALSE(Load({"--config", Write("[http]\nio_threads = \"two\"\n")}).ok());
  EXPECT_FALSE(Load({"--config", Write("not toml [")}).ok());
  EXPECT_FALSE(Load({"--config", (dir_ / "missing.toml").string()}).ok());
}

TEST_F(OptionsTest, StorageProfilesFromToml) {
  auto o = Load({"--config", Write(R"([storage]
timeout_ms = 5000
[[storage.profiles]]
name = "obs"
hosts = ["*.obs.*.myhuaweicloud.com"]
endpoint = "https://obs.cn-north-4.myhuaweicloud.com"
region = "cn-north-4"
addressing = "virtual"
access_key_env = "AK_ENV"
secret_key_env = "SK_ENV"
[[storage.profiles]]
buckets = ["*"]
endpoint = "http://127.0.0.1:7480"
allow_private = true
)")});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->storage.timeout_ms, 5000);
  ASSERT_EQ(o->storage.profiles.size(), 2u);
  const auto& p = o->storage.profiles[0];
  EXPECT_EQ(p.name, "obs");
  EXPECT_EQ(p.hosts, std::vector<std::string>{"*.obs.*.myhuaweicloud.com"});
  EXPECT_TRUE(p.virtual_hosted);
  EXPECT_EQ(p.region, "cn-north-4");
  EXPECT_EQ(p.access_key_env, "AK_ENV");
  EXPECT_FALSE(o->storage.profiles[1].virtual_hosted);
  EXPECT_EQ(o->storage.profiles[1].region, "us-east-1");  // the component's default
  EXPECT_TRUE(o->storage.profiles[1].allow_private);
  for (const char* bad :
       {"[[storage.profiles]]\nbuckets = [\"*\"]\nendpoint = \"http://h\"\nsecret = \"x\"\n",
        "[[storage.profiles]]\nbuckets = [\"*\"]\nendpoint = \"ftp://h\"\n",
        "[[storage.profiles]]\nendpoint = \"http://h\"\n",
        "[[storage.profiles]]\nbuckets = [\"*\"]\nendpoint = \"http://h\"\naddressing = \"x\"\n",
        "[storage]\nprofiles = 3\n"}) {
    auto b = Load({"--config", Write(bad)});
    EXPECT_FALSE(b.ok()) << bad;
  }
}

TEST_F(OptionsTest, ExampleFileLoads) {
  auto o = Load({"--config", std::string(ISS_SOURCE_DIR) + "/config/imagesearchd.example.toml"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->http.host, "127.0.0.1");
  EXPECT_EQ(o->http.port, 8080);
  EXPECT_EQ(o->http.max_body_bytes, 32 << 20);
}

TEST_F(OptionsTest, NestedComponentOptionsKeepTheirOwnDefaults) {
  auto o = Load({"--index-exact-max", "1000", "--auth-address-rate", "7.5",
                 "--max-images-per-instance", "5"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->index.exact_max, 1000u);
  EXPECT_EQ(o->index.merge_rows, index::TieredOptions{}.merge_rows);
  EXPECT_EQ(o->address_limit.rate, 7.5);
  EXPECT_EQ(o->address_limit.burst, api::RateLimit{}.burst);
  EXPECT_EQ(o->engine.max_items_per_gallery, 5);
  EXPECT_EQ(o->engine.max_galleries_per_project, engine::EngineOptions{}.max_galleries_per_project);
  EXPECT_EQ(o->http.io_threads, api::HttpServerOptions{}.io_threads);
  EXPECT_TRUE(o->store.sync_writes);
}

TEST_F(OptionsTest, VersionFlagPrintsTheProjectVersion) {
  testing::internal::CaptureStdout();
  auto o = Load({"--version"});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(absl::IsCancelled(o.status())) << o.status();  // main() exits 0
  EXPECT_EQ(out, std::string("imagesearchd ") + ISS_VERSION + "\n");
}

}  // namespace
}  // namespace iss::server
