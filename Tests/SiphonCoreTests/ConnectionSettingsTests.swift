// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore
import Testing

@Suite struct ConnectionSettingsTests {
    @Test func parsesAFullURL() throws {
        let settings = try ConnectionSettings(
            url: "postgresql://al%40ice:p%3Ass@db.example.com:6543/my%20db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x",
            environment: [:])
        #expect(settings.endpoint == .tcp(host: "db.example.com", port: 6543))
        #expect(settings.user == "al@ice")
        #expect(settings.password == "p:ss")
        #expect(settings.database == "my db")
        #expect(settings.tlsMode == .verifyFull)
        #expect(settings.tlsRootCertificatePath == "/ca.pem")
        #expect(settings.applicationName == "x")
    }

    @Test func environmentFillsWhatTheURLLeavesOut() throws {
        let settings = try ConnectionSettings(
            url: "postgres://bob@/shop",
            environment: ["PGHOST": "/tmp/sockets", "PGPORT": "5544", "PGPASSWORD": "pw", "PGUSER": "ignored", "PGSSLMODE": "disable"])
        #expect(settings.endpoint == .unixSocket(directory: "/tmp/sockets", port: 5544))
        #expect(settings.endpoint.socketPath == "/tmp/sockets/.s.PGSQL.5544")
        #expect(settings.user == "bob")
        #expect(settings.password == "pw")
        #expect(settings.database == "shop")
        #expect(settings.tlsMode == .disable)
    }

    @Test func ipv6HostAndDefaults() throws {
        let settings = try ConnectionSettings(url: "postgres://u@[::1]/", environment: [:])
        #expect(settings.endpoint == .tcp(host: "::1", port: 5432))
        #expect(settings.database == "u")
        #expect(settings.tlsMode == .prefer)
    }

    @Test func descriptionMasksThePassword() throws {
        let settings = try ConnectionSettings(url: "postgres://u:secret@h:1/d", environment: [:])
        #expect(!settings.description.contains("secret"))
        #expect(settings.description == "postgres://u:***@h:1/d?sslmode=prefer")
    }

    @Test func malformedInputSaysWhatIsWrong() {
        #expect(throws: SiphonError.self) { try ConnectionSettings(url: "mysql://u:secret@h/d", environment: [:]) }
        do {
            _ = try ConnectionSettings(url: "mysql://u:secret@h/d", environment: [:])
        } catch {
            #expect(error.message.contains("postgres://"))
            #expect(!error.message.contains("secret"))
        }
        for (url, fragment) in [
            ("postgres://h:99999/d", "invalid port '99999'"), ("postgres://h/d?sslmode=always", "invalid sslmode 'always'"),
            ("postgres://h/d?colour=red", "unknown connection parameter 'colour'"), ("postgres://h/d%zz", "percent-encoding"),
        ] {
            do {
                _ = try ConnectionSettings(url: url, environment: [:])
                Issue.record("\(url) must be rejected")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
        }
    }
}
