// Marks one symbol-version requirement of an ELF shared library as weak (VER_FLG_WEAK).
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so was linked by GCC 13 and so requires GLIBCXX_3.4.32,
// whose only use is the marker symbol std::ios_base_library_init. Debian 12's libstdc++ stops at
// GLIBCXX_3.4.30, so the loader refuses the library. A weak version requirement lets it load; the
// marker is never called. The build applies this to the copy in the output folder only, and only
// where the system libstdc++ lacks that version (elsewhere it is a no-op).
//
// This one file serves both the MSBuild task (Directory.Build.targets compiles it with
// RoslynCodeTaskFactory, which targets netstandard2.0: keep to its API) and the library (`lorabake doctor` reports the flag), so the ELF reading
// lives in one place.
using System;
using System.IO;
using System.Text;

namespace LoraBake.Runtime
{
    public static class ElfWeakVersion
    {
        public const string GlibcxxVersion = "GLIBCXX_3.4.32";
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        /// <summary>The flags of the version requirement named <paramref name="version"/>, or null when the file does not require it.</summary>
        public static ushort? RequirementFlags(byte[] elf, string version)
        {
            int at = FindRequirement(elf, version);
            return at < 0 ? null : BitConverter.ToUInt16(elf, at + 4);
        }

        /// <summary>Sets VER_FLG_WEAK on the requirement; true when the bytes changed.</summary>
        public static bool MarkWeak(byte[] elf, string version)
        {
            int at = FindRequirement(elf, version);
            if (at < 0) return false;
            ushort flags = BitConverter.ToUInt16(elf, at + 4);
            if ((flags & VerFlgWeak) != 0) return false;
            ushort weak = (ushort)(flags | VerFlgWeak);
            elf[at + 4] = (byte)(weak & 0xff);
            elf[at + 5] = (byte)(weak >> 8);
            return true;
        }

        /// <summary>True when a system libstdc++ already provides <paramref name="version"/> (then nothing needs patching).</summary>
        public static bool SystemLibStdCxxHas(string version)
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            };
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (var path in candidates)
            {
                if (!File.Exists(path)) continue;
                return IndexOf(File.ReadAllBytes(path), needle) >= 0; // the first libstdc++ found is the loader's
            }
            return false;
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
            {
                if (haystack[i] != needle[0]) continue;
                int k = 1;
                while (k < needle.Length && haystack[i + k] == needle[k]) k++;
                if (k == needle.Length) return i;
            }
            return -1;
        }

        // Returns the file offset of the Vernaux entry whose name is `version`, or -1.
        static int FindRequirement(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F') return -1;
            if (elf[4] != 2 || elf[5] != 1) return -1; // 64-bit little-endian only
            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
            for (int i = 0; i < shnum; i++)
            {
                int sh = checked((int)(shoff + (long)i * shentsize));
                if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
                int offset = checked((int)BitConverter.ToInt64(elf, sh + 0x18));
                int link = (int)BitConverter.ToUInt32(elf, sh + 0x28), count = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
                int strtab = checked((int)BitConverter.ToInt64(elf, checked((int)(shoff + (long)link * shentsize)) + 0x18));
                int need = offset;
                for (int n = 0; n < count; n++)
                {
                    int auxCount = BitConverter.ToUInt16(elf, need + 2);
                    int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        int name = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                        int end = Array.IndexOf(elf, (byte)0, name);
                        if (Encoding.ASCII.GetString(elf, name, end - name) == version) return aux;
                        aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                    }
                    need += (int)BitConverter.ToUInt32(elf, need + 12);
                }
            }
            return -1;
        }
    }

#if !LORABAKE_LIBRARY
    /// <summary>MSBuild task: weakens GLIBCXX_3.4.32 in each given library copy, atomically.</summary>
    public class WeakenGlibcxxRequirement : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string[] Files { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            if (ElfWeakVersion.SystemLibStdCxxHas(ElfWeakVersion.GlibcxxVersion))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "libstdc++ provides " + ElfWeakVersion.GlibcxxVersion + "; nothing to patch.");
                return true;
            }
            foreach (var file in Files)
            {
                if (!File.Exists(file)) continue;
                byte[] bytes = File.ReadAllBytes(file);
                if (!ElfWeakVersion.MarkWeak(bytes, ElfWeakVersion.GlibcxxVersion)) continue;
                // Write a new file and rename it over the old one: the output copy may be a hard link
                // into the NuGet cache, which must stay untouched.
                string temp = file + ".weak.tmp";
                File.WriteAllBytes(temp, bytes);
                File.Delete(file);
                File.Move(temp, file);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Marked " + ElfWeakVersion.GlibcxxVersion + " weak in " + file);
            }
            return true;
        }
    }
#endif
}
