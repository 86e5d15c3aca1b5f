import SystemSupport

/// Why a helper program (netavark, aardvark-dns, nft) did not do its job: it could not start, it was stopped, or it
/// exited otherwise than with 0. Each caller turns it into its own one-line message.
package enum HelperProgramFailure: Error, Sendable {
  /// The spawn failed at one of its steps, with that step's errno.
  case notStarted(SpawnFailure)
  /// It ran past its timeout, or the caller was cancelled; its process group was killed.
  case interrupted(RunInterruption)
  /// It exited with a status other than 0, or was killed by a signal.
  case failed(ProcessOutput)
}

extension ProcessRunner {
  /// Runs `request` to its end and returns the output of a run that exited with 0.
  package static func runHelper(_ request: ProcessRequest) async throws(HelperProgramFailure) -> ProcessOutput {
    let output: ProcessOutput
    do {
      output = try await run(request)
    } catch let failure as SpawnFailure {
      throw .notStarted(failure)
    } catch let interruption as RunInterruption {
      throw .interrupted(interruption)
    } catch {
      // run(_:) throws only the two above.
      throw .notStarted(SpawnFailure(step: .fork, errno: 0))
    }
    guard output.termination == .exited(0) else { throw .failed(output) }
    return output
  }
}
