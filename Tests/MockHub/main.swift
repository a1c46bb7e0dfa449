import Foundation
import TailorHubTestSupport

// The tests' mock hub as a program, for scripts/peers/hub_cache.sh (huggingface_hub against the same server):
//   MockHub --port N --repo ORG/NAME=FOLDER [--private ORG/NAME=FOLDER] [--dataset ORG/NAME=FOLDER] [--token T] [--delay-storage S]
// Prints `listening on http://127.0.0.1:N` once it answers, then `METHOD PATH` of each request it answered, until killed.
var arguments = Array(CommandLine.arguments.dropFirst())
var port = 0, token = "hf_mock_token", delay = 0.0
var repos: [MockHub.Repo] = []
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { FileHandle.standardError.write(Data("\(flag) needs a value\n".utf8)); exit(2) }
    arguments.removeFirst()
    switch flag {
    case "--port": port = Int(value) ?? 0
    case "--token": token = value
    case "--delay-storage": delay = Double(value) ?? 0
    case "--repo", "--private", "--dataset":
        let pair = value.split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2 else { FileHandle.standardError.write(Data("\(flag) takes ORG/NAME=FOLDER\n".utf8)); exit(2) }
        repos.append(try MockHub.Repo(id: pair[0], kind: flag == "--dataset" ? "dataset" : "model", folder: URL(fileURLWithPath: pair[1]),
                                      isPrivate: flag == "--private"))
    default: FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8)); exit(2)
    }
}
let hub = MockHub(repos: repos, token: token)
hub.delayStorage(delay)
hub.onRequest { seen in FileHandle.standardOutput.write(Data("\(seen.method) \(seen.path)\n".utf8)) }
try await hub.start(port: port)
FileHandle.standardOutput.write(Data("listening on \(hub.endpoint)\n".utf8))
try await hub.runForever()
