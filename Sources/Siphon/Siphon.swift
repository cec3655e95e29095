@_exported import SiphonCore
