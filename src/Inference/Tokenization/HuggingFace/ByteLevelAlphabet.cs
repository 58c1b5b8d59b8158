namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>GPT-2's byte-to-character table: every byte gets a printable character.</summary>
public static class ByteLevelAlphabet
{
    static readonly char[] ToChar = new char[256];
    static readonly Dictionary<char, byte> ToByte = [];

    static ByteLevelAlphabet()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            ToChar[b] = (char)(Printable(b) ? b : 256 + shifted++);
            ToByte[ToChar[b]] = (byte)b;
        }
    }

    public static char Char(byte b) => ToChar[b];

    /// <summary>The byte of a table character, or null for a character outside the table.</summary>
    public static byte? Byte(char c) => ToByte.TryGetValue(c, out var b) ? b : null;
}
