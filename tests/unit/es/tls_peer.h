#pragma once

// An in-process HTTPS peer for transport unit tests: a self-signed certificate made on the fly,
// a listener on 127.0.0.1 (port chosen by the kernel), and one thread that answers every request
// with 200 and the request's Authorization header (or "none") as the body. Optionally it
// requires a client certificate signed by a given certificate.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

namespace cesync::es::testing {

/// A key and a self-signed certificate written to PEM files in a temporary directory.
struct TestIdentity {
  std::string cert_file;
  std::string key_file;

  /// `common_name` also goes into subjectAltName together with `ip`.
  static TestIdentity make(const std::string& dir, const std::string& name,
                           const std::string& common_name, const std::string& ip) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert, subject);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    const std::string san = "DNS:" + common_name + ",IP:" + ip;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    X509_EXTENSION* bc =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert, bc, -1);
    X509_EXTENSION_free(bc);
    X509_sign(cert, key, EVP_sha256());

    TestIdentity id{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
    FILE* f = std::fopen(id.cert_file.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(id.key_file.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
    return id;
  }
};

class TlsPeer {
 public:
  /// Serves `server`'s identity; when `trusted_client_cert` is non-empty, a client
  /// certificate matching it is required.
  TlsPeer(const TestIdentity& server, const std::string& trusted_client_cert) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(ctx_, server.cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, server.key_file.c_str(), SSL_FILETYPE_PEM);
    if (!trusted_client_cert.empty()) {
      SSL_CTX_load_verify_locations(ctx_, trusted_client_cert.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 16);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~TlsPeer() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
    SSL_CTX_free(ctx_);
  }
  TlsPeer(const TlsPeer&) = delete;
  TlsPeer& operator=(const TlsPeer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  /// TLS handshakes that completed.
  [[nodiscard]] int handshakes() const { return handshakes_.load(); }

 private:
  void serve() {
    while (!stop_) {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        ++handshakes_;
        answer(ssl);
      }
      SSL_free(ssl);
      close(fd);
    }
  }

  static void answer(SSL* ssl) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) {
        return;
      }
      request.append(buf, static_cast<std::size_t>(n));
    }
    std::string auth = "none";
    const auto at = request.find("\r\nAuthorization: ");
    if (at != std::string::npos) {
      const auto start = at + 17;
      auth = request.substr(start, request.find("\r\n", start) - start);
    }
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                 std::to_string(auth.size()) + "\r\nConnection: close\r\n\r\n" +
                                 auth;
    SSL_write(ssl, response.data(), static_cast<int>(response.size()));
    SSL_shutdown(ssl);
  }

  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

}  // namespace cesync::es::testing
