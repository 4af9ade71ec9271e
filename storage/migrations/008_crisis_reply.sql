-- The emergency numbers, sent at once to a person whose conversation rose
-- to high while nobody can answer (outside hours, or nobody signed in),
-- once per rise: crisis_replied_at says when they were last sent.
ALTER TABLE conversations ADD COLUMN crisis_replied_at timestamptz;

INSERT INTO settings (key, value, updated_by) VALUES
('autoreply_crisis', to_jsonb(
'メッセージを読みました。とてもつらい気持ちを伝えてくれて、ありがとう。
あなたのことが心配です。
いま命の危険があるとき、けがをしているときは、すぐに110番（警察）か119番（救急）に電話してください。
いますぐ誰かと話したいときは、こちらにつながります。
{hotlines}
{desk}の相談員も、{next_open}から必ずお返事します。ひとりで抱えこまないでください。'::text), 'migration');
