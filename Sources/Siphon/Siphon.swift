// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

// One import for embedders: the change model, the pipeline, handlers, sinks and setup.
@_exported import SiphonAdmin
@_exported import SiphonCore
@_exported import SiphonEngine
@_exported import SiphonReplication
