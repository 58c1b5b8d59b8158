using System.Text;

namespace Service.Inference.Tokenization;

/// <summary>
/// The demo model's tokenizer: one id per UTF-8 byte (0-255), so any text in any script round-trips,
/// then special tokens. No merges, no vocabulary file.
/// </summary>
public sealed class ByteTokenizer : IChatTokenizer
{
    readonly Dictionary<string, int> _special;

    public ByteTokenizer(IReadOnlyList<string> specialTokens) =>
        _special = specialTokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => 256 + x.i);

    public int VocabSize => 256 + _special.Count;
    public IReadOnlyCollection<string> SpecialTokens => _special.Keys;
    public int? BeginningOfSequenceId => null;
    public int? EndOfSequenceId => null;

    public int[] Encode(string text) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    public string Decode(IReadOnlyList<int> ids) => Encoding.UTF8.GetString([.. ids.Where(id => id is >= 0 and < 256).Select(id => (byte)id)]);

    public int? SpecialTokenId(string token) => _special.TryGetValue(token, out var id) ? id : null;

    public string TokenText(int id) => id is >= 0 and < 256 ? Decode([id]) : _special.FirstOrDefault(s => s.Value == id).Key ?? "";

    public byte[] TokenBytes(int id) => id is >= 0 and < 256 ? [(byte)id] : Encoding.UTF8.GetBytes(TokenText(id));
}
