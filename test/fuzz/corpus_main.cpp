// Runs a fuzz harness over checked-in corpus directories, so the harnesses are
// ordinary tests when no fuzzer is linked:
//
//   fuzz_decode_corpus test/fuzz/corpus/decode [more dirs...]
//
// Every regular file in each directory (not recursive) is one input. A missing
// or empty directory is a failure: a test that ran nothing must not pass.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    std::size_t total = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path dir = argv[i];
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            std::fprintf(stderr, "%s: corpus directory %s is missing or not a directory\n", argv[0], dir.c_str());
            return 1;
        }
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.is_regular_file()) files.push_back(entry.path());
        if (ec) {
            std::fprintf(stderr, "%s: cannot list %s: %s\n", argv[0], dir.c_str(), ec.message().c_str());
            return 1;
        }
        if (files.empty()) {
            std::fprintf(stderr, "%s: corpus directory %s holds no files\n", argv[0], dir.c_str());
            return 1;
        }
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "%s: cannot read %s\n", argv[0], file.c_str());
                return 1;
            }
            const std::vector<char> data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            // A copy of exactly the file's size, so ASan sees reads past the end.
            std::vector<std::uint8_t> input(data.begin(), data.end());
            std::fprintf(stderr, "running %s (%zu bytes)\n", file.c_str(), input.size());
            LLVMFuzzerTestOneInput(input.data(), input.size());
            ++total;
        }
    }
    std::printf("%zu inputs ran without failure\n", total);
    return 0;
}
