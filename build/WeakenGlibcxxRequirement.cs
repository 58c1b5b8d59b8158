// MSBuild task, compiled by RoslynCodeTaskFactory against netstandard2.0 (see Directory.Build.targets).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so records a requirement on GLIBCXX_3.4.32 (GCC 13),
// but references only one symbol at that version (std::ios_base_library_init, never relocated).
// Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the loader refuses the library and every
// first use of `torch` throws. Marking that one version requirement weak (VER_FLG_WEAK in its
// Elf64_Vernaux entry) turns the refusal into a warning; nothing else in the file changes.
// The patch is applied to the copy in the build output only, and only when the system's
// libstdc++ lacks the version (images with GCC 13+ runtimes need nothing).
using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenGlibcxxRequirement : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || SystemHasVersion()) return true;
        foreach (var item in Libraries)
        {
            var path = item.ItemSpec;
            var patched = Patch(path);
            if (patched) Log.LogMessage(MessageImportance.High, $"Marked {Version} weak in {path} (system libstdc++ lacks it).");
        }
        return !Log.HasLoggedErrors;
    }

    static bool SystemHasVersion()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        var found = candidates.FirstOrDefault(File.Exists);
        // No libstdc++ where we look: nothing can be said, leave the library as shipped.
        if (found is null) return true;
        // The version names live in .gnu.version_d as plain NUL-terminated strings.
        var text = Encoding.ASCII.GetString(File.ReadAllBytes(found));
        return text.Contains(Version + "\0");
    }

    // Returns true when the file was changed.
    bool Patch(string path)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1)
        {
            Log.LogWarning($"{path} is not a little-endian ELF64 file; left unchanged.");
            return false;
        }
        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            int sh = checked((int)shoff + s * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            int verneed = checked((int)BitConverter.ToUInt64(elf, sh + 24));
            int strtabHeader = checked((int)shoff + (int)BitConverter.ToUInt32(elf, sh + 40) * shentsize);
            int strtab = checked((int)BitConverter.ToUInt64(elf, strtabHeader + 24));
            return MarkWeak(elf, verneed, strtab) && Write(path, elf);
        }
        return false;
    }

    // Walks Elf64_Verneed (16 bytes: version, cnt, file, aux, next) and its Elf64_Vernaux entries
    // (16 bytes: hash, flags, other, name, next) and sets VER_FLG_WEAK on the one named Version.
    static bool MarkWeak(byte[] elf, int verneed, int strtab)
    {
        for (int need = verneed; ; )
        {
            int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
            for (int a = 0; a < BitConverter.ToUInt16(elf, need + 2); a++)
            {
                int nameStart = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                int nameEnd = Array.IndexOf(elf, (byte)0, nameStart);
                if (Encoding.ASCII.GetString(elf, nameStart, nameEnd - nameStart) == Version)
                {
                    ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                    if ((flags & VerFlagWeak) != 0) return false;
                    Array.Copy(BitConverter.GetBytes((ushort)(flags | VerFlagWeak)), 0, elf, aux + 4, 2);
                    return true;
                }
                aux += (int)BitConverter.ToUInt32(elf, aux + 12);
            }
            uint next = BitConverter.ToUInt32(elf, need + 12);
            if (next == 0) return false;
            need += (int)next;
        }
    }

    static bool Write(string path, byte[] elf)
    {
        // Atomic replace: a half-written native library would be worse than the original.
        var temp = path + ".patching";
        File.WriteAllBytes(temp, elf);
        File.Replace(temp, path, null);
        return true;
    }
}
