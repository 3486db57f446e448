// swift-tools-version:6.0
import PackageDescription

// No package dependencies: only the Swift toolchain's own modules (Foundation, Dispatch, Glibc, XCTest).
// CarryLessCRC, BlockTranspose and PageCache are our own C (Swift has no carry-less multiply, its
// SIMD shuffles do not compile to x86-64's unpacks, and its Glibc module lacks `preadv2`,
// `sync_file_range` and `O_DIRECT`),
// compiled by the toolchain's clang.
let package = Package(
    name: "mm-convert",
    products: [
        .executable(name: "mm-convert", targets: ["mm-convert"]),
        .library(name: "Ops", targets: ["Ops"]),
        .library(name: "DSL", targets: ["DSL"]),
    ],
    targets: [
        .target(name: "CarryLessCRC", path: "Sources/CarryLessCRC"),
        .target(name: "BlockTranspose", path: "Sources/BlockTranspose"),
        .target(name: "PageCache", path: "Sources/PageCache"),
        .target(name: "Ops", dependencies: ["CarryLessCRC", "BlockTranspose", "PageCache"], path: "Sources/Ops"),
        .target(name: "DSL", dependencies: ["Ops"], path: "Sources/DSL"),
        .target(name: "CLI", dependencies: ["Ops", "DSL"], path: "Sources/CLI"),
        .executableTarget(name: "mm-convert", dependencies: ["CLI"], path: "Sources/mm-convert"),
        .testTarget(name: "OpsTests", dependencies: ["Ops", "CarryLessCRC", "BlockTranspose", "PageCache"], path: "Tests/OpsTests"),
        .testTarget(name: "DSLTests", dependencies: ["DSL", "Ops"], path: "Tests/DSLTests"),
        .testTarget(name: "CLITests", dependencies: ["CLI", "DSL", "Ops"], path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v5]
)
