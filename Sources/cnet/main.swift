import CNetCommands

#if canImport(Glibc)
  import Glibc
#endif

exit(await CNet.run())
