

def test_interrogative_without_question_mark_is_a_heading_echo() -> None:
    from qaforge.refine.checks import question_issues

    assert [i.code for i in question_issues("What composting is", "It is decay.")] == [
        "not_a_question"]
    assert question_issues("Explain how a compost heap heats up",
                           "Bacteria release heat.") == []
