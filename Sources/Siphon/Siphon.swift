// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

// One import for embedders: the change model, the pipeline and its sources (logical replication, trigger outbox,
// notify channels), handlers, sinks, setup, table sync, and the service that runs it all.
@_exported import SiphonAdmin
@_exported import SiphonCore
@_exported import SiphonEngine
@_exported import SiphonReplication
@_exported import SiphonService
@_exported import SiphonSync
@_exported import SiphonTrigger
