using Service.Inference.Generation;
using Service.Tests.Support;

namespace Service.Tests.Inference.Generation;

public sealed class ReplyTextTests
{
    [Fact]
    public void A_stop_string_split_across_tokens_ends_the_reply_and_is_never_emitted()
    {
        var reply = new ReplyText(["\n用户："]);
        Assert.Equal("Hel", reply.Update("Hel"));
        Assert.Equal("lo", reply.Update("Hello\n用"));   // "\n用" may start the stop string: held
        Assert.Equal("", reply.Update("Hello\n用户：I"));
        Assert.True(reply.Stopped);
        Assert.Equal("Hello", reply.Text);
    }

    [Fact]
    public void A_held_tail_that_turns_out_not_to_be_a_stop_is_emitted()
    {
        var reply = new ReplyText(["\nUser:"]);
        Assert.Equal("a", reply.Update("a\nUs"));
        Assert.Equal("\nUs ok", reply.Update("a\nUs ok"));
        Assert.Equal("", reply.Finish("a\nUs ok"));
        Assert.False(reply.Stopped);
    }

    [Fact]
    public void An_incomplete_utf8_character_is_held_until_it_completes()
    {
        var reply = new ReplyText([]);
        Assert.Equal("ab", reply.Update("ab\uFFFD\uFFFD"));
        Assert.Equal("你", reply.Update("ab你"));
    }

    [Fact]
    public void The_format_clean_up_applies_to_what_is_emitted()
    {
        var reply = new ReplyText([], text => System.Text.RegularExpressions.Regex.Replace(text, "\n+", "\n"));
        Assert.Equal("a\n", reply.Update("a\n"));
        Assert.Equal("", reply.Update("a\n\n\n"));
        Assert.Equal("b", reply.Update("a\n\n\nb"));
        Assert.Equal("a\nb", reply.Text);
    }
}
