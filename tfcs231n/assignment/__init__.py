"""The student edition of the assignment: a handout built from `tfcs231n.course` and a
grader that checks each student function against `torchref`.

`build.build` writes the handout (`tfcs231n assignment build`); `check.check` grades a
student directory (`tfcs231n assignment check`); `sections` says which functions are the
students' and where each is taught.
"""
