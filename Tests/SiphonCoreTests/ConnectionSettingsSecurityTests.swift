// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import Foundation
import SiphonCore
import Testing

/// Passwords in every form of connection string: parsed as libpq does, never shown in an error.
@Suite struct ConnectionSettingsSecurityTests {
    @Test func keywordStringWithQuotingAndEscapes() throws {
        let settings = try ConnectionSettings(
            url: #"host=db.example.com port = 6543 dbname='my db' user=alice password='it\'s a \\ secret' "#
                + "sslmode=verify-full sslrootcert=/ca.pem application_name=x connect_timeout=3 channel_binding=require "
                + "require_auth=scram-sha-256 keepalives_idle=30 keepalives_count=3 hostaddr=10.0.0.5",
            environment: [:])
        #expect(settings.endpoint == .tcp(host: "db.example.com", port: 6543))
        #expect(settings.hostAddress == "10.0.0.5")
        #expect(settings.database == "my db")
        #expect(settings.user == "alice")
        #expect(settings.password == #"it's a \ secret"#)
        #expect(settings.tlsMode == .verifyFull)
        #expect(settings.tlsRootCertificatePath == "/ca.pem")
        #expect(settings.applicationName == "x")
        #expect(settings.connectTimeout == 3)
        #expect(settings.channelBinding == .require)
        #expect(settings.requiredAuthentication.allowed == [.scramSHA256])
        #expect(settings.keepalives == .init(enabled: true, idle: 30, interval: 10, count: 3))
        #expect(settings.hostName == "db.example.com")
    }

    @Test func urlPasswordWithSlashAtAndColonStaysThePassword() throws {
        let settings = try ConnectionSettings(url: "postgres://u:pa/s:s@w0rd@db.example.com:5433/shop?sslmode=disable", environment: [:])
        #expect(settings.password == "pa/s:s@w0rd")
        #expect(settings.user == "u")
        #expect(settings.endpoint == .tcp(host: "db.example.com", port: 5433))
        #expect(settings.database == "shop")
        let encoded = try ConnectionSettings(url: "postgresql://u%3Ax:p%2Fw%40d@h/d%40b", environment: [:])
        #expect(encoded.user == "u:x")
        #expect(encoded.password == "p/w@d")
        #expect(encoded.database == "d@b")
    }

    @Test func malformedStringsNeverRepeatThePassword() {
        for text in [
            "host=127.0.0.1 password=Sup3rSecret dbname", "host=h password='Sup3rSecret", "password=Sup3rSecret port=x",
            "postgres://u:Sup3rSecret@h/d?oops", "postgres://u:Sup3rSecret@h:port/d", "postgres://u:Sup3r?Secret@h/d",
            "postgres://u:Sup3rSecret@h/d%zz", "Sup3rSecret", "postgres://u:Sup3rSecret@[::1/d",
        ] {
            do {
                _ = try ConnectionSettings(url: text, environment: [:])
                Issue.record("\(text) must be rejected")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(!error.message.contains("Sup3r"), "\(error.message)")
                #expect(!error.message.contains("Secret"), "\(error.message)")
            }
        }
    }

    @Test func oneMaskingFunctionForEveryForm() {
        for (text, masked) in [
            ("postgres://u:Sup3rSecret@h/d", "postgres://u:***@h/d"),
            ("postgres://u:a/b@c@h/d?password=Sup3rSecret&sslmode=require", "postgres://u:***@h/d?password=***&sslmode=require"),
            ("host=h password=Sup3rSecret dbname=d", "host=h password=*** dbname=d"),
            (#"host=h password = 'Sup3r \' Secret' dbname=d"#, "host=h password = *** dbname=d"),
            ("password=Sup3rSecret", "password=***"),
            ("host=h passfile=/p dbname=d", "host=h passfile=/p dbname=d"),
            ("config.yaml:3: bad value 'postgres://u:Sup3r@Secret@h/d' near url: postgres://v:Sup3rSecret@h/d x@y",
             "config.yaml:3: bad value 'postgres://u:***@h/d' near url: postgres://v:***@h/d x@y"),
        ] {
            #expect(ConnectionSettings.redacted(connectionString: text) == masked)
        }
    }

    @Test func passwordFileLinesMatchAsLibpqDoes() {
        let file = """
            # comment: *:*:*:*:never
            other:5432:*:alice:wrong-host
            db\\:1:5432:shop:alice:escaped-colon-host
            *:5432:shop:alice:p\\:w\\\\d
            *:*:*:*:fallback
            """
        #expect(PasswordFile.password(in: file, host: "db.example.com", port: "5432", database: "shop", user: "alice")
            == #"p:w\d"#)
        #expect(PasswordFile.password(in: file, host: "db:1", port: "5432", database: "shop", user: "alice") == "escaped-colon-host")
        #expect(PasswordFile.password(in: file, host: "h", port: "6543", database: "x", user: "bob") == "fallback")
        #expect(PasswordFile.password(in: "h:5432:d:u", host: "h", port: "5432", database: "d", user: "u") == nil)
    }

    @Test func passwordFileIsUsedWhenPrivateAndRefusedWhenOthersCanReadIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "localhost:5432:shop:alice:from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let url = "postgres://alice@localhost/shop"
        #expect(try ConnectionSettings(url: url, environment: ["PGPASSFILE": path]).password == "from-file")
        #expect(try ConnectionSettings(url: "host=localhost dbname=shop user=alice passfile=\(path)", environment: [:]).password
            == "from-file")
        #expect(try ConnectionSettings(url: "postgres://alice:given@localhost/shop", environment: ["PGPASSFILE": path]).password
            == "given")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let error = #expect(throws: SiphonError.self) {
            try ConnectionSettings(url: url, environment: ["PGPASSFILE": path])
        }
        #expect(error?.message.contains("chmod 600") == true)
        #expect(error?.message.contains("from-file") == false)
    }

    @Test func hostNamesStartingWithADigitAreNamesNotAddresses() throws {
        #expect(!ConnectionSettings.isIPAddress("1db.example.com"))
        #expect(!ConnectionSettings.isIPAddress("1e100.net"))
        #expect(!ConnectionSettings.isIPAddress("localhost"))
        #expect(ConnectionSettings.isIPAddress("10.0.0.1"))
        #expect(ConnectionSettings.isIPAddress("::1"))
        #expect(ConnectionSettings.isIPAddress("fe80::1:2"))
        let named = try ConnectionSettings(url: "postgres://u@1db.example.com/d?sslmode=verify-full", environment: [:])
        #expect(named.hostName == "1db.example.com")
        let address = try ConnectionSettings(url: "postgres://u@127.0.0.1/d?sslmode=verify-full", environment: [:])
        #expect(address.hostName == nil)
    }

    @Test func requireAuthListsAreAllPositiveOrAllNegated() throws {
        #expect(try AuthenticationRequirement(parsing: "!md5,!password").allowed == [.gss, .sspi, .scramSHA256, .none])
        #expect(try AuthenticationRequirement(parsing: "password").isExplicitList)
        for bad in ["md5,!password", "kerberos", "md5,md5"] {
            #expect(throws: SiphonError.self) { try AuthenticationRequirement(parsing: bad) }
        }
    }
}
